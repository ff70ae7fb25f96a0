"""vocwatch command line and the local sandbox sites used by the demo and the tests."""
