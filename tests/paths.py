"""Where the tests find the repository and the Vapi example payloads it ships."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAPI_PAYLOADS = ROOT / "tests" / "vapi_payloads"
