"""What to give Vapi for one tenant, as the bodies of Vapi's API (vapi-server-sdk 3.0 models them:
CreateCustomCredentialDto, Update...PhoneNumberDto, CreateAssistantDto). Plain Python.

Why each part (docs.vapi.ai and the API schema):
- `assistant-request` goes to the *phone number's* server URL, when the number has no assistant;
  an assistant's `serverMessages` cannot list it.
- Server URLs carry a credential by id (`server.credentialId`): the custom credential is created
  first; there is no inline `secret` field any more.
- `metadataSendMode: variable` (Vapi's default) sends the call with each Custom LLM request; with
  `off` no call id arrives and every turn starts the contact step over.
"""

from backend import prompts
from backend.engine.contact import DEFAULT_WAY_OUT
from backend.routes.way_out import TRANSFER_CALL_TOOL

CREDENTIAL_ID = "<id of the credential above>"
MODEL = "backend"  # what the Custom LLM endpoint answers as its model
TOOL_MODE_MODEL = {"provider": "openai", "model": "gpt-4o-mini"}  # any model Vapi offers
BASE_MESSAGES = ["status-update", "end-of-call-report"]
# Vapi fills {{customer.number}} with the caller's number; Liquid's `if` leaves the line out when
# there is none (a withheld number, a web call).
SAFETY_NET = "{% if customer.number %}{line}{% endif %}"


def urls(base, tenant):
    """(Server URL, Custom LLM URL) of a tenant; Vapi adds /chat/completions to the second."""
    return f"{base}/api/vapi/{tenant.id}/webhook", f"{base}/api/vapi/{tenant.id}"


def credential(tenant, secret):
    """The custom credential Vapi signs or sends the secret with, matching the tenant's file."""
    if tenant.hmac is not None:
        settings = tenant.hmac
        plan = {
            "type": "hmac",
            "secretKey": secret,
            "algorithm": settings.algorithm,
            "signatureHeader": settings.signature_header,
            "timestampHeader": settings.timestamp_header,
            "payloadFormat": settings.payload,
            "signatureEncoding": settings.encoding,
            "includeTimestamp": True,
            "secretIsBase64": settings.secret_is_base64,
        }
        if settings.prefix:
            plan["signaturePrefix"] = settings.prefix
        if settings.message_id_header:
            plan["messageIdHeader"] = settings.message_id_header
    else:
        plan = {"type": "bearer", "token": secret, "bearerPrefixEnabled": True}
        plan["headerName"] = tenant.secret_header or "Authorization"
    return {
        "provider": "custom-credential",
        "name": f"{tenant.id}-backend",
        "authenticationPlan": plan,
    }


def server(url):
    """A server URL with the tenant's credential."""
    return {"url": url, "credentialId": CREDENTIAL_ID}


def phone_number(tenant, webhook):
    """The phone number's settings: its server URL, where `assistant-request` goes."""
    if tenant.assistant_id:
        # No assistant on the number: Vapi asks the server, which answers the tenant's assistant.
        return {"assistantId": None, "server": server(webhook)}
    return {"server": server(webhook)}


def safety_net_line(tenant, catalogs):
    """The optional system-prompt line with the caller's number, in the tenant's wording: it
    reads as many of its digits as the tenant's agent does (none for spoken_digits: 0)."""
    key = prompts.PROMPT_CALLER_NUMBER_SAFETY_NET
    if tenant.spoken_digits == 0:
        key = prompts.PROMPT_CALLER_NUMBER_SAFETY_NET_NO_DIGITS
    line = catalogs.sentence(
        key,
        tenant.locale,
        tenant.variant,
        caller_number="{{customer.number}}",
    )
    return SAFETY_NET.replace("{line}", line)


def way_out_tools(tenant):
    """Vapi's own tools the way out calls: endCall (`end`), transferCall (`transfer`).

    Vapi names their functions END_CALL_TOOL and TRANSFER_CALL_TOOL, the names the answers call.
    """
    if tenant.way_out == DEFAULT_WAY_OUT:
        return [{"type": "endCall"}]
    if tenant.way_out == "transfer":
        # No destinations: Vapi asks the Server URL (transfer-destination-request), which gives
        # the tenant's contact.transfer_to, read live from its file.
        return [{"type": "transferCall", "destinations": []}]
    return []


def contact_tool(tenant, webhook):
    """Tool mode: the contact step as a function tool, answered by the Server URL."""
    return {
        "type": "function",
        "function": {
            "name": tenant.tool_name,
            # The step opens on an empty utterance: a first call carrying words would take
            # them for the answer to a question the caller never heard.
            "description": (
                "Runs the caller's contact number step. Call it first with an empty utterance: "
                "it asks the question. Then call it with each reply of the caller. Its answer "
                "is said word for word."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "utterance": {
                        "type": "string",
                        "description": "What the caller just said; empty to start the step.",
                    }
                },
                "required": ["utterance"],
            },
        },
        # A static parameter Vapi adds to the arguments: the caller's number, resolved by Vapi.
        "parameters": [{"key": "caller_number", "value": "{{customer.number}}"}],
        "server": server(webhook),
    }


def system_prompt(tenant, catalogs, mode, safety_net):
    lines = []
    if mode == "tool":
        lines.append(
            f"Pour le numéro de contact de l'appelant, appelez d'abord l'outil {tenant.tool_name}"
            " avec un texte vide : il pose la question. Ensuite, appelez-le avec chaque réponse"
            " de l'appelant. Ne dites rien d'autre pendant cette étape."
        )
        if tenant.way_out == "transfer":
            lines.append(
                f"Quand le résultat de {tenant.tool_name} le demande, appelez {TRANSFER_CALL_TOOL}"
                " sans rien dire."
            )
    if safety_net and mode == "tool":
        # In Custom LLM mode the backend is the model: no other model could use the number,
        # and the line would only carry it, whole, in every request and in Vapi's transcript.
        lines.append(safety_net_line(tenant, catalogs))
    return "\n".join(lines)


def assistant(tenant, catalogs, base, secret, mode="custom-llm", safety_net=True):
    """The assistant's body (CreateAssistantDto) in Custom LLM mode or tool mode."""
    webhook, llm_url = urls(base, tenant)
    messages = list(BASE_MESSAGES)
    tools = way_out_tools(tenant)
    if tenant.way_out == "transfer":
        messages.append("transfer-destination-request")
    if mode == "tool":
        messages.append("tool-calls")
        model = {**TOOL_MODE_MODEL, "tools": [contact_tool(tenant, webhook), *tools]}
    else:
        # The step's answers end the call once it is over (routes/way_out.py): endCall always.
        ends = [] if {"type": "endCall"} in tools else [{"type": "endCall"}]
        model = {
            "provider": "custom-llm",
            "model": MODEL,
            "url": llm_url,
            "metadataSendMode": "variable",
            "tools": [*ends, *tools],
        }
    prompt = system_prompt(tenant, catalogs, mode, safety_net)
    if prompt:
        model["messages"] = [{"role": "system", "content": prompt}]
    body = {
        "name": tenant.name[:40],
        "model": model,
        "serverMessages": messages,
        "server": server(webhook),
    }
    if mode != "tool":
        body["credentials"] = [custom_llm_credential(tenant, secret)]
    return body


def custom_llm_credential(tenant, secret):
    """Custom LLM mode: the key Vapi sends to the model URL as `Authorization: Bearer`."""
    return {"provider": "custom-llm", "name": f"{tenant.id}-custom-llm", "apiKey": secret}


def vapi_config(tenant, catalogs, base, secret, mode="custom-llm", safety_net=True):
    """Everything to create in Vapi for a tenant, in order, with what each step is for."""
    webhook, _ = urls(base, tenant)
    config = {
        "tenant": tenant.id,
        "mode": mode,
        "steps": [
            "1. POST /credential with `credential`; put its id where credentialId says so.",
            "2. PATCH /phone-number/{id} with `phoneNumber` (assistant-request comes here).",
            "3. POST /assistant with `assistant`.",
        ],
        "credential": credential(tenant, secret),
        "phoneNumber": phone_number(tenant, webhook),
        "assistant": assistant(tenant, catalogs, base, secret, mode, safety_net),
    }
    if tenant.assistant_id:
        config["steps"].append(
            f"4. Set vapi.assistant_id: {tenant.assistant_id!r} is what assistant-request answers:"
            " it must be the id of the assistant created in step 3."
        )
    else:
        config["steps"].append(
            "4. Put the new assistant's id in the tenant file (vapi.assistant_id), or set it as"
            " the phone number's assistantId instead of using assistant-request."
        )
    return config
