"""litellm-accel-pool: shared, bounded, self-healing HTTP connection pools for LiteLLM's provider calls.

The implementation (:class:`litellm_accel_pool.pool.BuiltinConnectionPool`, ``name = "builtin"``) is
registered through the ``litellm_accel`` entry point in :mod:`litellm_accel_pool.hooks`.
"""
