"""Statistics for operators: what the contact step achieved, per tenant and per day."""
