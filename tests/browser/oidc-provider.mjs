// A real OpenID provider for the browser tests: npm's oidc-provider (an
// OpenID Certified implementation) on http://127.0.0.1:PORT, with one
// confidential client registered for shipgate and three people:
//
//   alice  alice@integrator.example  group integrator-staff
//   bob    bob@client.example        group client-staff
//   eve    eve@elsewhere.example     group visitors (maps to nothing)
//
// Its development interactions (a login page taking any password, then a
// consent page) stand in for the organisation's sign-in pages.
//
// usage: node oidc-provider.mjs PORT PORTAL_URL CLIENT_SECRET_FILE [KID]
// Prints "ready ISSUER" on stdout once it listens.  A new KID (default
// test-rs256-1) is a provider that rotated its signing key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [port, portal, secretFile, kid] = process.argv.slice(2);
const modules = process.env.SHIPGATE_NODE_MODULES ||
    path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules');
const { default: Provider } = await import(path.join(modules,
    'oidc-provider', 'lib', 'index.js'));

const people = {
	alice: { email: 'alice@integrator.example', groups: ['integrator-staff'] },
	bob: { email: 'bob@client.example', groups: ['client-staff'] },
	eve: { email: 'eve@elsewhere.example', groups: ['visitors'] },
};

// The signing key: RS256, made for this run.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = privateKey.export({ format: 'jwk' });
jwk.kid = kid || 'test-rs256-1';
jwk.use = 'sig';
jwk.alg = 'RS256';

const issuer = 'http://127.0.0.1:' + port;
const secret = fs.readFileSync(secretFile, 'utf8').trim();
const provider = new Provider(issuer, {
	clients: [{
		client_id: 'shipgate',
		client_secret: secret,
		redirect_uris: [portal + '/auth/oidc/callback'],
		post_logout_redirect_uris: [portal + '/'],
		response_types: ['code'],
		grant_types: ['authorization_code'],
		token_endpoint_auth_method: 'client_secret_basic',
	}],
	jwks: { keys: [jwk] },
	scopes: ['openid', 'email', 'groups'],
	claims: { openid: ['sub'], email: ['email', 'email_verified'],
	    groups: ['groups'] },
	// The scopes' claims in the ID token itself (shipgate reads no
	// userinfo).
	conformIdTokenClaims: false,
	pkce: { required: () => true },
	cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
	features: { devInteractions: { enabled: true } },
	async findAccount(ctx, id) {
		const p = people[id];
		if (!p)
			return undefined;
		return {
			accountId: id,
			async claims() {
				return { sub: id, email: p.email,
				    email_verified: true, groups: p.groups };
			},
		};
	},
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
const server = provider.listen(Number(port), '127.0.0.1', () => {
	console.log('ready ' + issuer);
});
process.on('SIGTERM', () => process.exit(0));
