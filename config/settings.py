"""Scrapy settings for vocwatch (``scrapy.cfg`` points here).

Polite by default: robots.txt obeyed, one second between requests to a site, at most
two requests to a site at once, AutoThrottle on. The user's config file can change the
politeness defaults per crawl (``[crawl]``) and per source (``delay``).
"""

BOT_NAME = "vocwatch"
SPIDER_MODULES = ["spiders"]
# import only the spiders a crawl names, not every site adapter (`scrapy crawl` too; `scrapy list` walks all)
SPIDER_LOADER_CLASS = "crawlers.spiderloader.LazySpiderLoader"
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "vocwatch/0.1 (+https://github.com/vocwatch/vocwatch)"
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # each delay varies by ±50%
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# items of one response processed at once: Scrapy starts this many worker tasks per response
# (default 100, ~10x a listing page's items); 32 still puts a page's items into one NLP batch
CONCURRENT_ITEMS = 32
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 8
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_AFTER_MAX = 120.0
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"  # the spider's errback logs the one line of a failed page
VOCWATCH_RETRY_BACKOFF = 1.0  # retry n waits about base * 2**n s (equal jitter), capped at
VOCWATCH_RETRY_BACKOFF_MAX = 60.0
VOCWATCH_RETRY_BUDGET = 180.0  # s a site may keep failing before its requests fail fast
CLOSESPIDER_TIMEOUT = 1500  # run time limit per source ([crawl] time_limit)
MEMUSAGE_ENABLED = True
MEMUSAGE_LIMIT_MB = 2048  # [crawl] memory_limit_mb; needs the `resource` module (Linux, macOS)
MEMUSAGE_WARNING_MB = 1536
MEMUSAGE_CHECK_INTERVAL_SECONDS = 10.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
HTTPCACHE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.RetryAfterMiddleware": 550,
    "crawlers.distributed.politeness.SitePolitenessMiddleware": 560,  # [distributed] only: delay + cap shared in Redis
    # [sessions.<site>]: an account on each request; its process_response runs after the
    # proxy pool's (nearer the downloader) and before the retries (550): a 403/429/ban page
    # moves to the next account instead of being retried on the banned one
    "crawlers.sessions.SessionMiddleware": 575,
    "crawlers.middlewares.CharsetEvidenceMiddleware": 585,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawlers.middlewares.LoopAwareRedirectMiddleware": 600,
    "crawlers.proxies.ProxyMiddleware": 740,  # [crawl] proxies: before Scrapy's HttpProxyMiddleware (750)
}
VOCWATCH_PROXY_MAX_WAIT = 60.0  # s an "always"-proxied request waits for a cooled-down proxy, else page_no_proxy
ITEM_PIPELINES = {
    "pipelines.clean.CleanPipeline": 100,
    "pipelines.dedupe.DedupePipeline": 200,
    # the text analysis goes with the store's flush, in the NLP worker (pipelines.store);
    # "pipelines.enrich.EnrichPipeline": 300 labels items in the crawl process instead, for a
    # custom stage between the two that needs the labels
    "pipelines.store.StorePipeline": 900,
}
EXTENSIONS = {
    "crawlers.extensions.RunRecorder": 500,
    "crawlers.extensions.ItemErrors": 500,
    "crawlers.shutdown.QuickStop": 510,
    "crawlers.console.ReadableConsole": 0,  # tracebacks only at DEBUG on the console
    # Scrapy's remote control (2.19): an HTTP server per crawler that runs the Python code it is
    # sent, its token in a job file; off like the telnet console (and one server per source is
    # a server start and a file write for each of a run's sources)
    "scrapy.extensions.remote_control.RemoteControl": None,
}
LOG_FORMATTER = "crawlers.extensions.VocwatchLogFormatter"
# a failed page is retried from its callback (SourceSpider.retry_page, Scrapy's get_retry_request):
# carrying retry_times over is the point, not a meta key copied by mistake
META_COPY_WARN_SKIP_KEYS = ["retry_times"]

# vocwatch's own settings
VOCWATCH_CONFIG = "vocwatch.toml"  # overridden by the VOCWATCH_CONFIG environment variable
VOCWATCH_STORE_URL = None  # None: the config file's [store] url
VOCWATCH_STORE_BATCH = 200  # items of every crawler of the process together: one flush, analysed and stored
VOCWATCH_STORE_FLUSH_SECONDS = 1.0  # at most this long after the oldest buffered item
VOCWATCH_PSEUDONYMISE_AUTHORS = True
VOCWATCH_NLP_BATCH = 64  # EnrichPipeline only (not in the default pipelines)
VOCWATCH_NLP_MAX_WAIT = 0.05  # EnrichPipeline only
VOCWATCH_CHARSET_EVIDENCE = True  # decode a page whose declared charset its bytes contradict by evidence
VOCWATCH_NLP_WORKERS = None  # processes for text analysis; None: 1 with a second core, 0 = in a thread

ADDONS = {"crawlers.addon.VocwatchConfigAddon": 0}
# `scrapy crawl` checks vocwatch's -a arguments before crawling (one line, exit 2, no traceback)
COMMANDS_MODULE = "crawlers.commands"
# `scrapy check`: contracts in the sandbox spiders' docstrings, run against the sandbox
SPIDER_CONTRACTS = {
    "scrapy.contracts.default.UrlContract": None,
    "scrapy.contracts.default.ScrapesContract": None,
    "crawlers.contracts.UrlContract": 1,
    "crawlers.contracts.ScrapesContract": 3,
}
