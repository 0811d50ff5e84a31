#!/usr/bin/env bash
# `make demo`: the local Okta (end2end/okta-dev) on 127.0.0.1:4000 and Tessera on
# 127.0.0.1:3000 with org "acme" registered and enabled, on the database and secret key that
# `make run` and `scripts/tessera` use (data/tessera.db, data/secret.key; TESSERA_DATABASE_URL
# and TESSERA_SECRET_KEY_FILE win), so the operator CLI works on the running demo.
# Open the printed Okta dashboard, click the tile, sign in as alice / password: you are the owner.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/scripts/bootstrap.sh" --test
cd "$ROOT"
cargo build -p server --bin tessera
SITE_ROOT="$ROOT/target/site" bash "$ROOT/scripts/site.sh"

OKTA_PORT="${OKTA_PORT:-4000}"
PORT="${PORT:-3000}"
ISSUER="http://127.0.0.1:$OKTA_PORT"
PUBLIC="http://127.0.0.1:$PORT"
mkdir -p data
SECRET_FILE=data/demo-client.secret
[ -s "$SECRET_FILE" ] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SECRET_FILE")
SECRET="$(cat "$SECRET_FILE")"
export TESSERA_DATABASE_URL="${TESSERA_DATABASE_URL:-sqlite://$ROOT/data/tessera.db}" \
  TESSERA_SECRET_KEY_FILE="${TESSERA_SECRET_KEY_FILE:-$ROOT/data/secret.key}" TESSERA_PUBLIC_URL="$PUBLIC" \
  TESSERA_BIND="127.0.0.1:$PORT" TESSERA_ALLOW_HTTP_ISSUERS=true TESSERA_SITE_ROOT="$ROOT/target/site"
TESSERA="$CARGO_TARGET_DIR/debug/tessera"

CLIENTS="[{\"client_id\":\"tessera-acme\",\"client_secret\":\"$SECRET\",\"redirect_uris\":[\"$PUBLIC/sso/callback\"],\"initiate_login_uri\":\"$PUBLIC/sso/initiate\",\"name\":\"Tessera (Acme)\"}]"
PORT="$OKTA_PORT" OKTA_DEV_CLIENTS="$CLIENTS" node end2end/okta-dev/server.mjs &
OKTA_PID=$!
trap 'kill $OKTA_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "$ISSUER/.well-known/openid-configuration" && break
  kill -0 "$OKTA_PID" 2>/dev/null || { echo "okta-dev did not start (is port $OKTA_PORT free?)" >&2; exit 1; }
  sleep 0.2
done

"$TESSERA" org show acme >/dev/null 2>&1 || "$TESSERA" org create acme --name "Acme Inc"
"$TESSERA" sso set acme --issuer "$ISSUER" --client-id tessera-acme --client-secret-file "$SECRET_FILE"
"$TESSERA" sso enable acme

cat <<MSG

  Local Okta dashboard:  $ISSUER/app/UserHome
  Click "Tessera (Acme)" and sign in as alice / password (first sign-in becomes the owner).
  Other users: bob, carol (password: password); mallory is not assigned to the app.
  Tessera:               $PUBLIC   (Ctrl-C stops both)
  Operator CLI, in another terminal: scripts/tessera member list acme

MSG
"$TESSERA" serve
