"""vocwatch's Scrapy commands (``COMMANDS_MODULE``): ``crawl`` checks its ``-a`` arguments
before the crawl starts, so a bad value ends in one line, not a traceback."""
