// An independent check of the signature vectors, in Node.js with no
// dependencies. Usage:
//
//   node verify.js onplana  testdata/signatures.json
//   node verify.js standard testdata/standard-webhooks.json
//
// It prints one line per vector that disagrees and exits 1 if any does.
// TestSignatureVectorsNode runs it on the vector files and on fresh output
// of Sign, SignStandard and Signer.SignRequest.
'use strict';

const crypto = require('crypto');
const fs = require('fs');

// verifyOnplanaWebhook is the receiver snippet of the Onplana webhooks guide,
// copied unchanged: whatever a receiver built from the guide accepts, this
// accepts. timingSafeEqual throws when the lengths differ; callers treat a
// throw as a rejection, as an Express handler would answer 500/401.
function verifyOnplanaWebhook(rawBody, signatureHeader, secret) {
  const expected = crypto
    .createHmac('sha256', secret)
    .update(rawBody) // raw bytes, not parsed JSON
    .digest('hex');
  // constant-time comparison prevents timing attacks
  return crypto.timingSafeEqual(
    Buffer.from(signatureHeader, 'hex'),
    Buffer.from(expected, 'hex')
  );
}

function onplanaAccepts(body, header, secret) {
  // GitHub-style receivers strip "sha256=" before the snippet; ours never
  // sends it, but the GitHub docs vector carries it.
  if (header.startsWith('sha256=')) header = header.slice('sha256='.length);
  try {
    return verifyOnplanaWebhook(Buffer.from(body, 'utf8'), header, secret);
  } catch (e) {
    return false;
  }
}

// standardAccepts follows the Standard Webhooks specification: key = base64
// after the optional whsec_ prefix, content = id.timestamp.body, tolerance
// five minutes both ways, any space-separated "v1," entry may match.
function standardAccepts(v) {
  if (!v.id || !/^[1-9][0-9]*$/.test(v.timestamp) || v.id.includes('.')) return false;
  if (Math.abs(v.now - Number(v.timestamp)) > 300) return false;
  const secret = v.secret.startsWith('whsec_') ? v.secret.slice(6) : v.secret;
  const key = Buffer.from(secret, 'base64');
  const expected = crypto
    .createHmac('sha256', key)
    .update(Buffer.from(`${v.id}.${v.timestamp}.`, 'utf8'))
    .update(Buffer.from(v.body, 'utf8'))
    .digest();
  return v.signature.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || !value) return false;
    const got = Buffer.from(value, 'base64');
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  });
}

function main() {
  const [scheme, file] = process.argv.slice(2);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  let failures = 0;
  let checked = 0;
  const check = (name, got, want) => {
    checked++;
    if (got !== want) {
      failures++;
      console.log(`${scheme} ${name}: node says ${got ? 'valid' : 'invalid'}, want ${want ? 'valid' : 'invalid'}`);
    }
  };
  if (scheme === 'onplana') {
    for (const v of doc.vectors || []) {
      const expected = crypto.createHmac('sha256', v.secret).update(Buffer.from(v.body, 'utf8')).digest('hex');
      if (v.signature !== expected) {
        failures++;
        console.log(`onplana ${v.name}: signature ${v.signature}, node computes ${expected}`);
      }
      check(v.name, onplanaAccepts(v.body, v.header ?? v.signature, v.secret), true);
    }
    for (const r of doc.rejections || []) {
      check(r.name, onplanaAccepts(r.body, r.header, r.secret), false);
    }
  } else if (scheme === 'standard') {
    for (const v of doc.vectors || []) {
      check(v.name, standardAccepts(v), v.valid === true);
    }
  } else {
    console.log('usage: node verify.js onplana|standard FILE');
    process.exit(2);
  }
  if (checked === 0) {
    console.log(`${scheme}: no vectors in ${file}`);
    process.exit(1);
  }
  console.log(`${scheme}: ${checked - failures}/${checked} vectors agree`);
  process.exit(failures === 0 ? 0 : 1);
}

main();
