'use strict';
// README's picture of "History at a glance" (test-stats.sh runs this only
// with SHIPGATE_UPDATE_SCREENSHOTS=1): the app page of the seeded year,
// signed in through the form, its section drawn by Debian's chromium
// (playwright-core, as tests/browser).
//
//   node stats-screenshot.js PORTAL_URL PATH OUT.png
const path = require('path');
const env = process.env;
const { chromium } = require(path.join(env.SHIPGATE_NODE_MODULES,
    'playwright-core'));

async function main() {
	const [url, page_path, out] = process.argv.slice(2);
	const browser = await chromium.launch({
		executablePath: env.SHIPGATE_CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu',
		    '--no-first-run', '--disable-background-networking'],
		timeout: 60000,
	});
	try {
		const context = await browser.newContext({ baseURL: url,
		    viewport: { width: 900, height: 800 } });
		const page = await context.newPage();
		await page.goto('/login');
		await page.getByLabel('User name').fill('dave');
		await page.getByLabel('Password').fill('demo');
		await Promise.all([
			page.waitForURL((u) => !u.pathname.startsWith('/login')),
			page.getByRole('button', { name: 'Sign in' }).click(),
		]);
		await page.goto(page_path);
		await page.locator('section.stats').screenshot({ path: out });
	} finally {
		await browser.close();
	}
}

main().catch((e) => {
	console.error(String(e && e.stack || e));
	process.exit(1);
});
