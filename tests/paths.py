"""Where the tests find the repository and Vapi's example payloads."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAPI_FIXTURES = Path(os.environ.get("VAPI_FIXTURES_DIR", ROOT.parent / "shared" / "vapi"))
