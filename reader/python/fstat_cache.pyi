from fsc import FStatCache as FStatCache
