"""The Faust runtime: the worker's app, its wiring, and every workaround for Faust and aiokafka.

Importing this package imports no Faust; ``streams.runtime.app`` does. See
``README.md`` here for each private internal of Faust and aiokafka the
runtime touches, the versions pinned, and the canary test guarding each.
"""
