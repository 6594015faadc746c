"""Verifies an access token with PyJWT, an implementation independent of ours, using nothing but the
JWKS document. Prints the claims as JSON; exits non-zero when the token does not verify.

usage: verify_with_jwks.py JWKS_JSON TOKEN AUDIENCE ISSUER
"""
import json
import sys

import jwt

jwks, token, audience, issuer = sys.argv[1:5]
kid = jwt.get_unverified_header(token)["kid"]
key = next(k for k in json.loads(jwks)["keys"] if k["kid"] == kid)
claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience=audience, issuer=issuer)
print(json.dumps(claims))
