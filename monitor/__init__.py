"""Reads the store: competitive sets, summaries, benchmarks, trends, alerts. Never imports Scrapy."""
