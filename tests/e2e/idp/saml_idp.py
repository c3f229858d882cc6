"""A small SAML 2.0 identity provider for the browser tests: real AuthnRequests in, signed responses out.

It signs with xmlsec (through python3-saml's helpers) as a production IdP does; a control endpoint makes it
misbehave the ways an attacker would: sign with another key, address another audience. `/replay` posts the
last response again. Run: `python -m tests.e2e.idp.saml_idp --port N`.
"""
# ruff: noqa: E501 - the XML and HTML templates read better unwrapped

import argparse
import datetime as dt
import html
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


@dataclass
class State:
    base_url: str
    key: str
    certificate: str
    rogue_key: str
    rogue_certificate: str
    mode: str = "normal"
    pending: dict[str, dict[str, str]] = field(default_factory=dict)
    last_post: dict[str, str] = field(default_factory=dict)

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/metadata"


def signing_keys() -> tuple[str, str]:
    """A key and self-signed certificate (PEM), as an IdP admin would download from Okta or Entra ID."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test IdP")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem.decode(), certificate.public_bytes(serialization.Encoding.PEM).decode()


def pem_body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if "-----" not in line)


def metadata_xml(*, entity_id: str, sso_url: str, certificate: str) -> str:
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{pem_body(certificate)}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


def _instant(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_response(state: State, *, request: dict[str, str], email: str) -> str:
    audience = "https://wrong-audience.example/" if state.mode == "wrong-audience" else request["issuer"]
    key, cert = (
        (state.rogue_key, state.rogue_certificate)
        if state.mode == "wrong-signature"
        else (state.key, state.certificate)
    )
    email = html.escape(email)
    assertion = f"""<saml:Assertion xmlns:saml="{NS["saml"]}" ID="_{secrets.token_hex(16)}" Version="2.0"
    IssueInstant="{_instant()}"><saml:Issuer>{state.entity_id}</saml:Issuer>
  <saml:Subject><saml:NameID Format="{EMAIL_FORMAT}">{email}</saml:NameID>
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
      <saml:SubjectConfirmationData NotOnOrAfter="{_instant(dt.timedelta(minutes=5))}"
          Recipient="{request["acs"]}" InResponseTo="{request["id"]}"/>
    </saml:SubjectConfirmation></saml:Subject>
  <saml:Conditions NotBefore="{_instant(-dt.timedelta(minutes=1))}" NotOnOrAfter="{_instant(dt.timedelta(minutes=5))}">
    <saml:AudienceRestriction><saml:Audience>{html.escape(audience)}</saml:Audience></saml:AudienceRestriction>
  </saml:Conditions>
  <saml:AuthnStatement AuthnInstant="{_instant()}" SessionIndex="_{secrets.token_hex(8)}">
    <saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
  </saml:AuthnStatement>
  <saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
</saml:Assertion>"""
    signed_assertion = OneLogin_Saml2_Utils.add_sign(assertion, key, cert).decode()
    signed_assertion = signed_assertion.split("?>", 1)[-1]
    response = f"""<samlp:Response xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}" ID="_{secrets.token_hex(16)}"
    Version="2.0" IssueInstant="{_instant()}" Destination="{request["acs"]}" InResponseTo="{request["id"]}">
  <saml:Issuer>{state.entity_id}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  {signed_assertion}
</samlp:Response>"""
    return OneLogin_Saml2_Utils.b64encode(response)


def _post_form(action: str, fields: dict[str, str]) -> HTMLResponse:
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in fields.items()
    )
    return HTMLResponse(
        f"""<!doctype html><title>Test IdP</title><body>
<form method="post" action="{html.escape(action)}">{inputs}<button type="submit">Continue to Skillibrium</button></form>
<script>document.forms[0].submit()</script></body>"""
    )


def build_app(state: State) -> Starlette:
    async def metadata(request: Request) -> Response:
        xml = metadata_xml(
            entity_id=state.entity_id, sso_url=f"{state.base_url}/sso", certificate=state.certificate
        )
        return Response(xml, media_type="application/samlmetadata+xml")

    async def sso(request: Request) -> Response:
        xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(request.query_params["SAMLRequest"])
        root = etree.fromstring(xml)
        pending = {
            "id": root.get("ID"),
            "acs": root.get("AssertionConsumerServiceURL"),
            "issuer": root.findtext("saml:Issuer", namespaces=NS),
            "relay_state": request.query_params.get("RelayState", ""),
            "signed": "yes" if "Signature" in request.query_params else "no",
        }
        token = secrets.token_urlsafe(16)
        state.pending[token] = pending
        return HTMLResponse(
            f"""<!doctype html><title>Test IdP sign-in</title><h1>Test IdP</h1>
<form method="post" action="/sso/login"><input type="hidden" name="token" value="{token}">
<label>Email <input type="email" name="email" required></label><button type="submit">Sign in to IdP</button></form>"""
        )

    async def login(request: Request) -> Response:
        body = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        pending = state.pending.pop(body["token"])
        fields = {"SAMLResponse": signed_response(state, request=pending, email=body["email"])}
        if pending["relay_state"]:
            fields["RelayState"] = pending["relay_state"]
        state.last_post = {"action": pending["acs"], **fields}
        return _post_form(pending["acs"], fields)

    async def replay(request: Request) -> Response:
        fields = dict(state.last_post)
        return _post_form(fields.pop("action"), fields)

    async def control(request: Request) -> Response:
        state.mode = (await request.json())["mode"]
        return JSONResponse({"mode": state.mode})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/metadata", metadata),
            Route("/sso", sso),
            Route("/sso/login", login, methods=["POST"]),
            Route("/replay", replay),
            Route("/_control/mode", control, methods=["POST"]),
            Route("/health", health),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    (key, cert), (rogue_key, rogue_cert) = signing_keys(), signing_keys()
    state = State(f"http://127.0.0.1:{port}", key, cert, rogue_key, rogue_cert)
    uvicorn.run(build_app(state), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
