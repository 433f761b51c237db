"""pytest under eventlet's monkey-patching, for tests that run nameko containers in-process.

nameko 2.13+ no longer patches from its pytest plugin, and unpatched in-process containers hang in
amqp's socket reads (notes/feasibility.md §3). Patching must happen before anything imports socket or
threading, hence a separate entry point rather than a conftest hook. Only tests marked `eventlet` run here;
everything else (Playwright, FastAPI, pika) runs in the plain session, where patching would break asyncio.
"""

import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

import pytest  # noqa: E402

if __name__ == "__main__":
    sys.exit(pytest.main(sys.argv[1:]))
