// A real OAuth 2.0 authorization server for Sonde's token tests: npm
// `oidc-provider` (panva), configured here, on loopback plain HTTP.
//
//   node oidc.mjs CONFIG.json
//
// CONFIG: {"ttl": seconds, "resource": "https://...", "scopes": ["a", ...],
//          "clients": [{"client_id", "auth": "client_secret_basic" |
//                        "client_secret_post" | "private_key_jwt" | "jwt_bearer",
//                        "client_secret"?, "public_key_pem"?, "alg"?: "RS256"|"ES256",
//                        "jwt_issuer"?, "extra_token_fields"?: {...}}]}
//
// Everything the provider does is its own: client authentication, the
// client-credentials grant, resource indicators, token lifetimes. This
// script adds, and says so:
// - the RFC 7523 §2.1 JWT bearer grant through the provider's public
//   `registerGrantType`: it verifies the assertion against the client's
//   public key and issues an access token from the provider's own model;
// - for a JWT bearer request with no client authentication at all (Google's
//   and Salesforce's shape), the client is the one whose `jwt_issuer` is
//   the assertion's `iss`, since oidc-provider needs a client_id;
// - `extra_token_fields` merged into a client's successful token answers
//   (a vendor's extra members, e.g. Salesforce's `instance_url`);
// - `GET /resource`: 200 for a live access token as a Bearer, else 401, so a
//   test can prove a token reached a resource;
// - one JSON line on stdout per token or resource request, and commands on
//   stdin: `revoke CLIENT_ID`, `restore CLIENT_ID`, `sync N` (each acknowledged).
// A client's private key, when the test gave no public key, is made here and
// printed once in the `listening` line, for the test to sign with.

import { generateKeyPairSync, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import * as querystring from 'node:querystring';

import Provider, { errors } from 'oidc-provider';
import { jwtVerify, decodeJwt, importJWK } from 'jose';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const ttl = config.ttl ?? 300;
const scopes = config.scopes ?? ['read'];
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

// Keys: the test's public key, or a fresh pair whose private half goes back.
const privateKeys = {};
function publicJwk(client) {
  let pub = client.public_key_pem;
  if (!pub) {
    const alg = client.alg ?? 'RS256';
    const pair = alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKeys[client.client_id] = pair.privateKey.export({ type: 'pkcs8', format: 'pem' });
    pub = pair.publicKey.export({ type: 'spki', format: 'pem' });
  }
  const jwk = createPublicKey(pub).export({ format: 'jwk' });
  return { ...jwk, kid: client.key_id ?? `${client.client_id}-key`, alg: client.alg ?? 'RS256', use: 'sig' };
}

const clients = new Map();
for (const c of config.clients) {
  const meta = {
    client_id: c.client_id,
    grant_types: [c.auth === 'jwt_bearer' ? JWT_BEARER : 'client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: scopes.join(' '),
    token_endpoint_auth_method: c.auth === 'jwt_bearer' ? 'none' : c.auth,
  };
  if (c.client_secret) meta.client_secret = c.client_secret;
  let jwk;
  if (c.auth === 'private_key_jwt' || c.auth === 'jwt_bearer') {
    jwk = publicJwk(c);
    if (c.auth === 'private_key_jwt') meta.jwks = { keys: [jwk] };
  }
  clients.set(c.client_id, { config: c, meta, jwk });
}

const server = createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const tokenUrl = `${issuer}/token`;
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  const provider = new Provider(issuer, {
    clients: [],
    jwks: { keys: [{ ...signing, kid: 'provider', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? config.resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource !== config.resource) throw new errors.InvalidTarget();
          return { scope: scopes.join(' '), audience: resource, accessTokenTTL: ttl, accessTokenFormat: 'opaque' };
        },
      },
    },
    ttl: { ClientCredentials: () => ttl, AccessToken: () => ttl },
  });

  // Clients live in the provider's store, not its static list, so that a
  // revoked one is gone for the provider itself.
  for (const [id, c] of clients) await provider.Client.adapter.upsert(id, c.meta);

  // The JWT bearer grant (RFC 7523 §2.1, §3).
  provider.registerGrantType(JWT_BEARER, async (ctx) => {
    const { client } = ctx.oidc;
    const entry = clients.get(client.clientId);
    const assertion = ctx.oidc.params.assertion;
    if (!assertion) throw new errors.InvalidRequest('missing required parameter \'assertion\'');
    let claims;
    try {
      const key = await importJWK(entry.jwk, entry.jwk.alg);
      ({ payload: claims } = await jwtVerify(assertion, key, {
        issuer: entry.config.jwt_issuer ?? client.clientId,
        audience: [tokenUrl, issuer],
        algorithms: [entry.jwk.alg],
        requiredClaims: ['exp', 'iat'],
        maxTokenAge: '1h',
      }));
    } catch (cause) {
      throw new errors.InvalidGrant(`assertion rejected: ${cause.code ?? cause.message}`);
    }
    // Google puts the scope in the assertion; others send it as a parameter.
    const requested = (ctx.oidc.params.scope ?? claims.scope ?? '').split(' ').filter(Boolean);
    const unknown = requested.filter((s) => !scopes.includes(s));
    if (unknown.length) throw new errors.InvalidScope('requested scope is not allowed', unknown.join(' '));
    const token = new provider.ClientCredentials({ client, scope: requested.join(' ') || undefined });
    const value = await token.save();
    ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope: token.scope };
  }, ['assertion', 'scope', 'resource']);

  const handle = provider.callback();
  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/token' && req.method === 'POST') return token(req, res);
    if (url.pathname === '/resource') return resource(req, res);
    return handle(req, res);
  });

  // Reads the form body (so it can be logged), fills in client_id for a
  // bare JWT bearer request, and hands it to the provider as a parsed body.
  async function token(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    const form = querystring.parse(raw);
    const auth = req.headers.authorization ? 'basic'
      : form.client_assertion ? 'jwt' : form.client_secret ? 'post' : 'none';
    let clientId = form.client_id;
    if (auth === 'basic') {
      const basic = Buffer.from(req.headers.authorization.split(' ')[1] ?? '', 'base64').toString();
      clientId = decodeURIComponent(basic.split(':')[0]);
    } else if (auth === 'jwt') {
      clientId = safeIss(form.client_assertion);
    } else if (auth === 'none' && form.grant_type === JWT_BEARER && !clientId && form.assertion) {
      const iss = safeIss(form.assertion);
      const found = [...clients.values()].find((c) => (c.config.jwt_issuer ?? c.config.client_id) === iss);
      if (found) {
        clientId = found.config.client_id;
        form.client_id = clientId;
      }
    }
    req.body = querystring.stringify(form);
    // Logged as the answer is written, before the client can see it.
    const extra = clients.get(clientId)?.config.extra_token_fields;
    const end = res.end.bind(res);
    res.end = (body, ...rest) => {
      say({
        event: 'token_request', grant_type: form.grant_type ?? null, client_id: clientId ?? null, auth,
        scope: form.scope ?? null, resource: form.resource ?? null, audience: form.audience ?? null,
        status: res.statusCode,
      });
      if (extra && res.statusCode === 200 && body) {
        const merged = Buffer.from(JSON.stringify({ ...JSON.parse(body.toString()), ...extra }));
        res.setHeader('Content-Length', merged.length);
        return end(merged, ...rest);
      }
      return end(body, ...rest);
    };
    return handle(req, res);
  }

  async function resource(req, res) {
    const [scheme, value] = (req.headers.authorization ?? '').split(' ');
    let found;
    if (scheme?.toLowerCase() === 'bearer' && value) {
      found = await provider.ClientCredentials.find(value) ?? await provider.AccessToken.find(value);
      // Strictly by `exp`: the provider's own lookup allows its clock skew.
      if (found && (found.isExpired || !(await provider.Client.find(found.clientId)))) found = undefined;
    }
    say({ event: 'resource_request', client_id: found?.clientId ?? null, ok: Boolean(found) });
    if (!found) {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer error="invalid_token"', 'Content-Type': 'application/json' });
      return res.end('{"error":"invalid_token"}');
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({ client_id: found.clientId, scope: found.scope ?? null, aud: found.aud ?? null }));
  }

  createInterface({ input: process.stdin }).on('line', async (line) => {
    const [cmd, id] = line.trim().split(/\s+/);
    const entry = clients.get(id);
    // `sync N` only echoes: every line before it has then been written.
    if (cmd === 'revoke') await provider.Client.adapter.destroy(id);
    else if (cmd === 'restore' && entry) await provider.Client.adapter.upsert(id, entry.meta);
    say({ event: cmd, client_id: id, known: Boolean(entry) });
  });

  say({ event: 'listening', port, issuer, token_url: tokenUrl, private_keys: privateKeys,
    public_jwks: Object.fromEntries([...clients].filter(([, c]) => c.jwk).map(([id, c]) => [id, c.jwk])) });
});

function safeIss(jwt) {
  try {
    return decodeJwt(jwt).iss;
  } catch {
    return undefined;
  }
}
