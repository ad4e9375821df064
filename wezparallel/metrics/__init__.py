"""Resource metrics: what each managed process tree costs now and over the last hours.

    sampler   one pass over /proc for the managed process trees (no psutil)
    snapshot  the frozen result of a pass, and its JSON form (no psutil: the CLI reads it)
    history   samples and one-minute aggregates in SQLite; degrades to disabled, never raises
    render    pure text: the `top` table, sparklines, human sizes
    settings  interval and retention, one frozen dataclass

Nothing is imported here, so `wezparctl` can load `render` without paying for psutil or sqlite3.
"""
