"""What one log line costs: log_event with the request's bound fields, rendered as the app's
JSON line by the handler create_app installs, written to /dev/null. `--no-mask` leaves out the
last-step phone mask, to see its share. Prints the best and median of 9 rounds, in µs a line.
"""

import argparse
import logging
import os
import statistics
import time

from backend import create_app
from backend.logs import JsonLineFormatter, bind_request, log_event

LINES = 20000


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-mask", action="store_true", help="render without the mask")
    args = parser.parse_args()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    (handler,) = [
        h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonLineFormatter)
    ]
    handler.setFormatter(JsonLineFormatter(mask=not args.no_mask))
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  (until the process ends)
    rounds = []
    with app.test_request_context("/"):
        bind_request(tenant="demo", call_id="f60f6b23-0697-4e07-a137-2ca86f93a8da")
        for _ in range(9):
            start = time.perf_counter()
            for _ in range(LINES):
                log_event(
                    "CALLER_ID_PERSISTED", msg_type="status-update", phone_masked="+33XXXXXXX14"
                )
            rounds.append((time.perf_counter() - start) / LINES * 1e6)
    mask = "without the mask" if args.no_mask else "with the mask"
    print(
        f"log line ({mask}): best {min(rounds):.1f} µs, median {statistics.median(rounds):.1f} µs"
    )


if __name__ == "__main__":
    main()
