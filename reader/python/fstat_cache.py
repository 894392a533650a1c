"""fstat_cache: the name the original Python library had; FStatCache comes from fsc.

    from fstat_cache import FStatCache
    cache = FStatCache()
    cache.start(["/tmp/test_file1"])
    print(cache.get_file_stats("/tmp/test_file1"))
"""
from fsc import FStatCache

__all__ = ["FStatCache"]
