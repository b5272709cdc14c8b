// A buyer in a real headless browser: opens a card payment's redirect URL (the sandbox's hosted card page or
// its 3-D Secure page), fills in the card when the card form shows, ticks "save card" when asked, answers the
// 3DS challenge, and waits until the browser lands back on the merchant's return URL.
//
// Shared by every browser test (the sandbox's own and the gateway's end-to-end card tests), so it knows only
// the pages' HTML contract (field names cardNo, expiryMonth, expiryYear, cvv, cardholderName, zipCode,
// saveCard, otp; buttons action=pay|submit|cancel), not how the payment was created.
//
// Usage: node card_checkout.js '<json>' with
//   {"url": "<normalUrl>", "returnUrlPrefix": "http://127.0.0.1:PORT/",
//    "card": {"cardNo": "...", "expiryMonth": "12", "expiryYear": "30", "cvv": "123",
//             "cardholderName": "...", "zipCode": "..."},      // optional: only for the card form
//    "saveCard": true,                                         // optional: tick the box (fails if absent)
//    "otp": "1234" | "cancel",                                 // optional: the 3DS answer
//    "returnServer": "http://127.0.0.1:PORT"}                  // optional: serves the return URL (see below)
// With `returnServer`, every request under `returnUrlPrefix` (an https merchant URL the gateway accepts) is
// answered by that local server, same path and query: the browser lands on the merchant's URL, and the local
// server sees the hit.
// Prints one JSON line {"finalUrl", "pages": [titles seen], "finalText"} and exits 0, or prints the error and
// exits 1. playwright-core comes from NODE_PATH; Chromium from ALIPAY_GATEWAY_CHROMIUM (default
// /usr/bin/chromium).
'use strict';

const { chromium } = require('playwright-core');

// The flags this machine needs: no sandbox as root, and no background connections (the network is closed).
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function fillCardForm(page, order, pages) {
  const card = order.card || {};
  for (const name of ['cardNo', 'expiryMonth', 'expiryYear', 'cvv', 'cardholderName', 'zipCode']) {
    if (card[name] !== undefined) {
      await page.fill(`input[name="${name}"]`, card[name]);
    }
  }
  if (order.saveCard) {
    const box = page.locator('input[name="saveCard"]');
    if ((await box.count()) === 0) {
      throw new Error('saveCard was requested but the page has no "save card" box');
    }
    await box.check();
  }
  const before = page.url();
  await page.click('button[value="pay"]');
  await page.waitForURL((url) => url.href !== before);
  await page.waitForLoadState('load');
  pages.push(await page.title());
}

async function answerChallenge(page, order, pages) {
  if (order.otp === undefined) {
    throw new Error('the 3-D Secure page showed but no otp was given');
  }
  if (order.otp === 'cancel') {
    await page.click('button[value="cancel"]');
  } else {
    await page.fill('input[name="otp"]', order.otp);
    await page.click('button[value="submit"]');
  }
}

async function main() {
  const order = JSON.parse(process.argv[2] || '{}');
  if (!order.url || !order.returnUrlPrefix) {
    throw new Error('url and returnUrlPrefix are required');
  }
  const browser = await chromium.launch({
    executablePath: process.env.ALIPAY_GATEWAY_CHROMIUM || '/usr/bin/chromium',
    args: FLAGS,
  });
  try {
    const page = await browser.newPage();
    const pages = [];
    const scripts = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(request.url());
    });
    const back = (url) => url.href.startsWith(order.returnUrlPrefix);
    if (order.returnServer) {
      await page.route(back, async (route) => {
        const asked = new URL(route.request().url());
        const local = new URL(asked.pathname + asked.search, order.returnServer);
        await route.fulfill({ response: await route.fetch({ url: local.href }) });
      });
    }
    await page.goto(order.url);
    pages.push(await page.title());
    if ((await page.locator('input[name="cardNo"]').count()) > 0) {
      await fillCardForm(page, order, pages);
    }
    if (!back(new URL(page.url())) && (await page.locator('input[name="otp"]').count()) > 0) {
      await answerChallenge(page, order, pages);
    }
    await page.waitForURL(back, { timeout: 15000 });
    if (scripts.length > 0) {
      throw new Error(`the pages loaded scripts: ${scripts.join(', ')}`);
    }
    const finalText = (await page.textContent('body')) || '';
    console.log(JSON.stringify({ finalUrl: page.url(), pages, finalText: finalText.trim() }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
