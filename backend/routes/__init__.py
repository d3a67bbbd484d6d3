"""HTTP blueprints: Vapi server messages, the Custom LLM endpoint, health."""
