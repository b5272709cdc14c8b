// A client in another language: @grpc/grpc-js with @grpc/proto-loader reading proto/ at run time, following
// StreamPaymentEvents across a disconnect.
//
// Usage:
//   node stream_events.js resume  GATEWAY_ADDR PROTO_DIR BINDING_ID
//     streams while paying twice, disconnects after processing the first payment, pays once more while away,
//     resumes from the last processed cursor and checks that nothing is missed or repeated; prints
//     "node events: OK first_cursor=<cursor of the first event>".
//   node stream_events.js expired GATEWAY_ADDR PROTO_DIR CURSOR
//     expects OUT_OF_RANGE for a cursor past retention; prints "node events: OK out of range".
// Exits non-zero with a message on any deviation.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [mode, addr, protoDir, arg] = process.argv.slice(2);
const definition = protoLoader.loadSync(path.join(protoDir, 'alipay/gateway/v1/payment.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
});
const v1 = grpc.loadPackageDefinition(definition).alipay.gateway.v1;
const client = new v1.PaymentService(addr, grpc.credentials.createInsecure());
const deadlineMs = 30000;

function pay(bindingId) {
  const id = `node-${crypto.randomUUID()}`;
  const request = {
    payment_request_id: id,
    payment_amount: { currency: 'PHP', value: '1000' },
    order: { reference_order_id: `order-${id}`, order_description: 'Node order' },
    agreement: { binding_id: bindingId },
  };
  return new Promise((resolve, reject) =>
    client.Pay(request, (err, answer) => {
      if (err) return reject(err);
      assert.equal(answer.payment.status, 'PAYMENT_STATUS_SUCCESS');
      resolve(id);
    }),
  );
}

/** Opens a stream; resolves once the server has answered with headers (the stream's start is fixed). */
function open(cursor) {
  const call = client.StreamPaymentEvents({ cursor });
  const queue = [];
  const waiters = [];
  let failure = null;
  const settle = () => {
    while (waiters.length && (queue.length || failure)) {
      const { resolve, reject } = waiters.shift();
      if (queue.length) resolve(queue.shift());
      else reject(failure);
    }
  };
  call.on('data', (message) => {
    queue.push(message.event);
    settle();
  });
  call.on('error', (err) => {
    failure = err;
    settle();
  });
  const next = () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no event in time')), deadlineMs);
      waiters.push({
        resolve: (e) => (clearTimeout(timer), resolve(e)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      settle();
    });
  const opened = new Promise((resolve, reject) => {
    call.on('metadata', () => resolve());
    call.on('error', reject);
  });
  return { call, next, opened };
}

const describe = (e) => `${e.payment.payment_request_id} ${e.payment.status}`;

async function resume(bindingId) {
  const first = open('');
  await first.opened;
  const p1 = await pay(bindingId);
  const p2 = await pay(bindingId);
  const processed = [await first.next(), await first.next()];
  assert.deepEqual(processed.map(describe), [`${p1} PAYMENT_STATUS_CREATED`, `${p1} PAYMENT_STATUS_SUCCESS`]);
  for (const e of processed) assert.equal(e.event_type, 'PAYMENT_EVENT_TYPE_PAYMENT_UPDATED');
  // Disconnect having processed p1 only (p2's events may be in flight: they must come again after resuming).
  first.call.cancel();
  const p3 = await pay(bindingId);

  const resumed = open(processed[1].cursor);
  const after = [];
  for (let i = 0; i < 4; i++) after.push(await resumed.next());
  resumed.call.cancel();
  assert.deepEqual(after.map(describe), [
    `${p2} PAYMENT_STATUS_CREATED`,
    `${p2} PAYMENT_STATUS_SUCCESS`,
    `${p3} PAYMENT_STATUS_CREATED`,
    `${p3} PAYMENT_STATUS_SUCCESS`,
  ]);
  const ids = new Set([...processed, ...after].map((e) => e.event_id));
  assert.equal(ids.size, 6, 'no event repeated');
  console.log(`node events: OK first_cursor=${processed[0].cursor}`);
}

async function expired(cursor) {
  const stream = open(cursor);
  await assert.rejects(stream.opened.then(() => stream.next()), (err) => {
    assert.equal(err.code, grpc.status.OUT_OF_RANGE, `expected OUT_OF_RANGE, got ${err.code}: ${err.details}`);
    return true;
  });
  console.log('node events: OK out of range');
}

(mode === 'resume' ? resume(arg) : mode === 'expired' ? expired(arg) : Promise.reject(new Error(`mode ${mode}?`)))
  .then(() => {
    client.close();
    process.exit(0);
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
