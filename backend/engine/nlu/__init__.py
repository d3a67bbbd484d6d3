"""French understanding for the voice agents: phone numbers and yes/no answers."""

from backend.engine.nlu.answers import classify_answer
from backend.engine.nlu.phone import PhoneProgress, continue_phone, digits_said, parse_phone

__all__ = ["PhoneProgress", "classify_answer", "continue_phone", "digits_said", "parse_phone"]
