// A client in another language, built as docs/clients.md says: @grpc/grpc-js with @grpc/proto-loader reading proto/
// at run time, google-proto-files for the google.rpc error details. It follows StreamPaymentEvents across a
// disconnect and decodes the details of failed calls.
//
// Usage:
//   node client.js resume  GATEWAY_ADDR PROTO_DIR BINDING_ID
//     streams while paying twice, disconnects after processing the first payment, pays once more while away,
//     resumes from the last processed cursor and checks that nothing is missed or repeated; prints
//     "node events: OK first_cursor=<cursor of the first event>".
//   node client.js expired GATEWAY_ADDR PROTO_DIR CURSOR
//     expects OUT_OF_RANGE for a cursor past retention; prints "node events: OK out of range".
//   node client.js errors GATEWAY_ADDR PROTO_DIR BINDING_ID
//     decodes the google.rpc details of failed Pays with the recipe of docs/clients.md (google-proto-files and
//     protobufjs): the BadRequest field violations of an INVALID_ARGUMENT, and the ErrorInfo reason of a NOT_FOUND
//     and of an ALREADY_EXISTS; prints "node errors: OK".
// Exits non-zero with a message on any deviation.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs'); // installed with @grpc/proto-loader
const gpf = require('google-proto-files');

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

function pay(bindingId, id = `node-${crypto.randomUUID()}`) {
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

// The google.rpc types, from google-proto-files (docs/clients.md): never copied into proto/.
const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) => gpf.getProtoPath('..', target);
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const Status = rpc.lookupType('google.rpc.Status');

/** The details of a failed call, keyed by their short type name (`BadRequest`, `ErrorInfo`, `RetryInfo`). */
function details(err) {
  const [bin] = err.metadata.get('grpc-status-details-bin');
  assert.ok(bin, `no grpc-status-details-bin trailer on ${err.code}: ${err.details}`);
  const status = Status.decode(bin);
  assert.equal(status.code, err.code, 'google.rpc.Status.code is the gRPC code');
  const found = {};
  for (const any of status.details) {
    const type = rpc.lookupType(any.type_url.split('/').pop());
    found[type.name] = type.toObject(type.decode(any.value));
  }
  return found;
}

/** Pays with `request`; resolves to the error the gateway answered (a success fails the check). */
const payError = (request) =>
  new Promise((resolve, reject) =>
    client.Pay(request, { deadline: Date.now() + deadlineMs }, (err, answer) =>
      err ? resolve(err) : reject(new Error(`expected an error, got ${JSON.stringify(answer)}`)),
    ),
  );

async function errors(bindingId) {
  // Three bad fields at once: every one is reported under its proto field path.
  const invalid = await payError({
    payment_request_id: 'not an id!',
    payment_amount: { currency: 'PHP', value: '1000' },
    order: { reference_order_id: '', order_description: '' },
    agreement: { binding_id: bindingId },
  });
  assert.equal(invalid.code, grpc.status.INVALID_ARGUMENT, `${invalid.code}: ${invalid.details}`);
  const bad = details(invalid).BadRequest;
  assert.ok(bad, 'INVALID_ARGUMENT carries a google.rpc.BadRequest');
  const fields = bad.fieldViolations.map((v) => v.field);
  for (const field of ['payment_request_id', 'order.reference_order_id', 'order.order_description']) {
    assert.ok(fields.includes(field), `violation of ${field} in ${JSON.stringify(bad.fieldViolations)}`);
  }
  for (const v of bad.fieldViolations) assert.ok(v.description, `a description for ${v.field}`);

  const id = `node-${crypto.randomUUID()}`;
  const order = { reference_order_id: `order-${id}`, order_description: 'Node order' };
  const unknown = await payError({
    payment_request_id: id,
    payment_amount: { currency: 'PHP', value: '1000' },
    order,
    agreement: { binding_id: `no-such-binding-${id}` },
  });
  assert.equal(unknown.code, grpc.status.NOT_FOUND, `${unknown.code}: ${unknown.details}`);
  const missing = details(unknown).ErrorInfo;
  assert.equal(missing.reason, 'BINDING_NOT_FOUND');
  assert.equal(missing.domain, 'gateway.alipay-gateway');

  // The same request id with other content (README: a changed retry needs a new payment_request_id).
  await pay(bindingId, id);
  const changed = await payError({
    payment_request_id: id,
    payment_amount: { currency: 'PHP', value: '2000' },
    order,
    agreement: { binding_id: bindingId },
  });
  assert.equal(changed.code, grpc.status.ALREADY_EXISTS, `${changed.code}: ${changed.details}`);
  const clash = details(changed).ErrorInfo;
  assert.equal(clash.reason, 'REPEAT_REQ_INCONSISTENT');
  assert.equal(clash.metadata.payment_request_id, id);
  console.log('node errors: OK');
}

const modes = { resume, expired, errors };
(modes[mode] ? modes[mode](arg) : Promise.reject(new Error(`mode ${mode}?`)))
  .then(() => {
    client.close();
    process.exit(0);
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
