"""accel-memo-tokens: an example third-party litellm-accel plugin.

It offers the token-counting implementation ``memo``: an LRU memo in front of stock
``litellm.token_counter``. A repeated call (same model, same messages, same options) is answered from
the memo; everything else is computed by stock litellm. Counts are therefore identical to stock's.
"""

__version__ = "0.1.0"
