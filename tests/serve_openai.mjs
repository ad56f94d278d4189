// Drives `ecology serve` with the official OpenAI client (openai@6.49.0, fetched by
// scripts/fetch-test-material.sh) for tests/cli/test_serve.sh. Reads its inputs from the
// environment: OPENAI_PKG (the unpacked package folder), BASE_URL (…/v1), BASE_ROOT, KEY_INF and KEY_ADMIN (an
// inference and an admin key), PROMPT_REV (a reverse-task prompt), WANT_REV (generate's
// greedy text for it with the reverse adapter, stop "\n"), WANT_REV_LP (its log-probabilities,
// JSON), BLNS (blns.json, the big list of naughty strings), PROMPT_BASE and WANT_BASE (generate's greedy 16 tokens of the base model). Prints one
// line per check and exits 1 when any fails.
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const env = process.env;
const { default: OpenAI } = await import(pathToFileURL(path.join(env.OPENAI_PKG, 'index.mjs')).href);
const client = new OpenAI({ baseURL: env.BASE_URL, apiKey: env.KEY_INF, maxRetries: 0 });
// /admin sits beside /v1: clients over the server's root
const root = new OpenAI({ baseURL: env.BASE_ROOT, apiKey: env.KEY_INF, maxRetries: 0 });
const admin = new OpenAI({ baseURL: env.BASE_ROOT, apiKey: env.KEY_ADMIN, maxRetries: 0 });
const wrong = new OpenAI({ baseURL: env.BASE_URL, apiKey: 'not-a-key-at-all', maxRetries: 0 });

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
async function rejects(promise, Cls, status, code, param) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof Cls, `expected ${Cls.name}, got ${e && e.constructor && e.constructor.name}: ${e}`);
    assert.equal(e.status, status);
    assert.equal(typeof e.error, 'object');
    assert.equal(typeof e.error.message, 'string');
    assert.ok(e.error.message.length > 0);
    if (code !== undefined) assert.equal(e.code, code);
    if (param !== undefined) assert.equal(e.param, param);
    return e;
  }
  assert.fail('no error');
}

const REV = env.PROMPT_REV, WANT = env.WANT_REV;
const greedy = { max_tokens: 16, temperature: 0 };

await check('models.list: bases, adapters with parent, aliases', async () => {
  const ids = {};
  for await (const m of client.models.list()) ids[m.id] = m;
  assert.equal(ids['eco-tiny'].kind, 'base');
  assert.equal(ids['eco-tiny'].object, 'model');
  assert.equal(ids['reverse'].kind, 'adapter');
  assert.equal(ids['reverse'].parent, 'eco-tiny');
  assert.equal(ids['sort'].parent, 'eco-tiny');
  assert.equal(ids['text.reverse@1.champion'].kind, 'alias');
  assert.equal(ids['text.reverse@1.champion'].alias_of, 'reverse');
});

await check('completion by adapter id = ecology generate (greedy, bit for bit)', async () => {
  const r = await client.completions.create({ model: 'reverse', prompt: REV, stop: '\n', ...greedy });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, 'reverse');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].text, WANT);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

await check('completion of the base = ecology generate (16 tokens, no stop)', async () => {
  const r = await client.completions.create({ model: 'eco-tiny', prompt: env.PROMPT_BASE, ...greedy });
  assert.equal(r.choices[0].text, env.WANT_BASE);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 16);
});

await check('completion by alias: the alias\'s adapter answers', async () => {
  const r = await client.completions.create({ model: 'text.reverse@1.champion', prompt: REV, stop: '\n', ...greedy });
  assert.equal(r.model, 'reverse');
  assert.equal(r.choices[0].text, WANT);
});

await check('another adapter by id answers differently', async () => {
  const r = await client.completions.create({ model: 'sort', prompt: REV, stop: '\n', ...greedy });
  assert.equal(r.model, 'sort');
  assert.notEqual(r.choices[0].text, WANT);
});

await check('chat: the project\'s prompt format, the answer without its leading space', async () => {
  const r = await client.chat.completions.create({
    model: 'reverse', messages: [{ role: 'user', content: REV }], ...greedy });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, WANT.replace(/^ /, ''));
  assert.equal(r.choices[0].finish_reason, 'stop');
});

await check('chat logprobs: one entry per token, generate\'s log-probabilities', async () => {
  const r = await client.chat.completions.create({
    model: 'reverse', messages: [{ role: 'user', content: REV }], logprobs: true, top_logprobs: 3, ...greedy });
  const want = JSON.parse(env.WANT_REV_LP);
  const got = r.choices[0].logprobs.content;
  assert.equal(got.length, r.usage.completion_tokens);
  // generate lists the stop's "\n" token too: generated and counted, cut from the text
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i].logprob - want[i]) < 1e-6, `token ${i}`);
  for (const t of got) {
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].token, t.token); // greedy: the chosen token is the likeliest
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
    assert.ok(t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob);
  }
  assert.equal(got.map((t) => t.token).join(''), WANT + '\n');
});

await check('completion logprobs: tokens, token_logprobs, text_offset', async () => {
  const r = await client.completions.create({ model: 'reverse', prompt: REV, stop: '\n', logprobs: 2, ...greedy });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, lp.token_logprobs.length);
  assert.equal(lp.top_logprobs.length, lp.tokens.length);
  assert.equal(Object.keys(lp.top_logprobs[0]).length, 2);
  assert.deepEqual(lp.text_offset.slice(0, 2), [0, lp.tokens[0].length]);
});

await check('streaming completion: deltas joined = the text, then [DONE]', async () => {
  const s = await client.completions.create({ model: 'reverse', prompt: REV, stop: '\n', stream: true, ...greedy });
  let text = '', finish = null, chunks = 0;
  for await (const c of s) {
    chunks++;
    text += c.choices[0].text;
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(text, WANT);
  assert.equal(finish, 'stop');
  assert.ok(chunks > 3, `${chunks} chunks`);
});

await check('streaming chat with usage', async () => {
  const s = await client.chat.completions.create({
    model: 'text.reverse@1.champion', messages: [{ role: 'user', content: REV }], stream: true,
    stream_options: { include_usage: true }, ...greedy });
  let text = '', role = null, usage = null, finish = null;
  for await (const c of s) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      if (ch.delta.role) role = ch.delta.role;
      if (ch.delta.content) text += ch.delta.content;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(text, WANT.replace(/^ /, ''));
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0 && usage.prompt_tokens > 0);
});

await check('streaming with a stop sequence spanning tokens = the plain answer', async () => {
  const req = { model: 'reverse', prompt: REV, stop: ['jso', 'zzz'], ...greedy };
  const plain = await client.completions.create(req);
  let text = '';
  for await (const c of await client.completions.create({ ...req, stream: true })) text += c.choices[0].text;
  assert.equal(text, plain.choices[0].text);
  assert.ok(WANT.includes('jso') ? text === WANT.slice(0, WANT.indexOf('jso')) : text === WANT);
});

await check('the big list of naughty strings as prompts, chat contents and model names', async () => {
  const blns = JSON.parse((await import('node:fs')).readFileSync(env.BLNS, 'utf8'));
  let ok = 0, refused = 0;
  for (const str of blns) {
    for (const call of [
      () => client.completions.create({ model: 'reverse', prompt: str, max_tokens: 1, temperature: 0 }),
      () => client.chat.completions.create({ model: 'reverse', messages: [{ role: 'user', content: str }],
        max_tokens: 1, temperature: 0 }),
    ]) {
      try {
        const r = await call();
        assert.equal(r.choices.length, 1);
        ok++;
      } catch (e) {
        // only a clean 400 (e.g. an empty prompt's context or a NUL) may refuse a string
        assert.ok(e instanceof OpenAI.BadRequestError, `${JSON.stringify(str)}: ${e}`);
        refused++;
      }
    }
    try {
      await client.completions.create({ model: str, prompt: 'x', max_tokens: 1 });
      assert.ok(['reverse', 'sort', 'eco-tiny', 'merged', 'tiny-chatml'].includes(str), `model ${JSON.stringify(str)} answered`);
    } catch (e) {
      assert.ok(e instanceof OpenAI.NotFoundError || e instanceof OpenAI.BadRequestError,
        `model ${JSON.stringify(str)}: ${e}`);
    }
  }
  console.log(`     ${blns.length} strings: ${ok} answered, ${refused} refused with 400`);
  assert.ok(ok > blns.length);
});

await check('n = 2 and a seed: sampled choices repeat with the seed', async () => {
  const req = { model: 'eco-tiny', prompt: env.PROMPT_BASE, max_tokens: 8, temperature: 1, seed: 5, n: 2 };
  const a = await client.completions.create(req);
  const b = await client.completions.create(req);
  assert.equal(a.choices.length, 2);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1]);
});

await check('404: unknown model, OpenAI error object', async () => {
  await rejects(client.completions.create({ model: 'no-such-model', prompt: 'x' }), OpenAI.NotFoundError, 404,
    'model_not_found', 'model');
});
await check('400: temperature out of range names the param', async () => {
  await rejects(client.completions.create({ model: 'reverse', prompt: 'x', temperature: 5 }), OpenAI.BadRequestError,
    400, 'invalid_request', 'temperature');
});
await check('400: a later-session field is refused, not ignored', async () => {
  await rejects(client.chat.completions.create({ model: 'reverse', messages: [{ role: 'user', content: 'x' }],
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }),
    OpenAI.BadRequestError, 400, 'unsupported_parameter', 'tools');
});
// Structured output: every string and array of this schema is bounded, so 200 tokens of the
// byte tokenizer always reach the end of an instance.
const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 8 },
    age: { type: 'integer' },
    ok: { type: 'boolean' },
    pets: { type: 'array', items: { enum: ['cat', 'dog'] }, maxItems: 2 },
  },
  required: ['name', 'age', 'ok'],
  additionalProperties: false,
};
function assertPerson(p) {
  assert.equal(typeof p, 'object');
  assert.deepEqual(Object.keys(p).filter((k) => !['name', 'age', 'ok', 'pets'].includes(k)), []);
  assert.equal(typeof p.name, 'string');
  assert.ok([...p.name].length <= 8);
  assert.ok(Number.isInteger(p.age));
  assert.equal(typeof p.ok, 'boolean');
  if ('pets' in p) {
    assert.ok(Array.isArray(p.pets) && p.pets.length <= 2);
    for (const x of p.pets) assert.ok(x === 'cat' || x === 'dog');
  }
}
await check('json_schema output: chat.completions.parse gives the parsed object (greedy and sampled)', async () => {
  for (const temperature of [0, 1]) {
    const r = await client.chat.completions.parse({
      model: 'reverse', messages: [{ role: 'user', content: REV }], max_tokens: 200, temperature, seed: 7,
      response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: PERSON } } });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assertPerson(r.choices[0].message.parsed);
    assert.deepEqual(r.choices[0].message.parsed, JSON.parse(r.choices[0].message.content));
  }
});
await check('json_schema output streamed: the deltas join to an instance', async () => {
  const s = await client.completions.create({ model: 'eco-tiny', prompt: 'A person:', max_tokens: 200,
    temperature: 0.8, seed: 3, stream: true,
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON } } });
  let text = '', finish = null;
  for await (const c of s) {
    text += c.choices[0].text;
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(finish, 'stop');
  assertPerson(JSON.parse(text));
});
await check('json_object output: one JSON object, or finish_reason length when max_tokens cuts it', async () => {
  const r = await client.chat.completions.create({ model: 'eco-tiny', messages: [{ role: 'user', content: 'JSON' }],
    max_tokens: 300, temperature: 0, response_format: { type: 'json_object' } });
  const c = r.choices[0];
  if (c.finish_reason === 'stop') {
    const v = JSON.parse(c.message.content);
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v));
  } else {
    assert.equal(c.finish_reason, 'length');
    assert.ok(c.message.content.startsWith('{'));
  }
});
await check('400: a schema keyword the decoder cannot enforce is refused, naming it', async () => {
  const e = await rejects(client.chat.completions.create({ model: 'reverse', messages: [{ role: 'user', content: 'x' }],
    response_format: { type: 'json_schema', json_schema: { name: 'zip', schema: {
      type: 'object', properties: { zip: { type: 'string', pattern: '^[0-9]{5}$' } } } } } }),
  OpenAI.BadRequestError, 400, 'unsupported_parameter', 'response_format.json_schema.schema.properties.zip.pattern');
  assert.match(e.error.message, /'pattern'/);
});
await check('400: prompt + max_tokens past the model\'s context', async () => {
  await rejects(client.completions.create({ model: 'reverse', prompt: 'x'.repeat(400), max_tokens: 200 }),
    OpenAI.BadRequestError, 400, 'context_length_exceeded');
});
await check('401: a wrong key', async () => {
  await rejects(wrong.models.list(), OpenAI.AuthenticationError, 401, 'invalid_api_key');
});
await check('403: an inference key on /admin', async () => {
  await rejects(root.get('/admin/aliases'), OpenAI.PermissionDeniedError, 403, 'insufficient_scope');
});
// model selection per request: extra body fields pass through the client as they are
const SORTP = 'Sort: dcba\nSorted:';
const text = async (req) => (await client.completions.create({ prompt: REV, stop: '\n', ...greedy, ...req })).choices[0].text;
await check('lora: one adapter at scale 1 = the adapter by id; by alias too', async () => {
  const r = await client.completions.create({ model: 'eco-tiny', prompt: REV, stop: '\n', ...greedy,
    lora: [{ id: 'reverse', scale: 1 }] });
  assert.equal(r.choices[0].text, WANT);
  assert.equal(r.model, 'eco-tiny');
  assert.equal(await text({ model: 'eco-tiny', lora: [{ id: 'text.reverse@1.champion' }] }), WANT);
});
await check('lora: two adapters at 0.5 = the registered `ecology merge` linear (rank 64)', async () => {
  const lora = [{ id: 'reverse', scale: 0.5 }, { id: 'sort', scale: 0.5 }];
  for (const prompt of [REV, SORTP]) {
    const want = await text({ model: 'merged', prompt });
    assert.equal(await text({ model: 'eco-tiny', prompt, lora }), want);
  }
});
await check('merged_adapters: linear = lora with the same weights; ties and dare_ties answer', async () => {
  const ids = ['text.reverse@1.champion', 'sort'];
  const viaLora = await text({ model: 'eco-tiny', prompt: SORTP, lora: [{ id: 'reverse', scale: 0.5 }, { id: 'sort', scale: 0.5 }] });
  assert.equal(await text({ model: 'eco-tiny', prompt: SORTP, merged_adapters: { ids, weights: [0.5, 0.5] } }), viaLora);
  for (const merge_strategy of ['ties', 'dare_ties']) {
    const req = { model: 'eco-tiny', prompt: SORTP, merged_adapters: { ids, weights: [1, 1], merge_strategy, density: 0.5,
      majority_sign_method: 'frequency' } };
    const a = await text(req), b = await text(req);
    assert.equal(a, b);
  }
});
await check('400: merged_adapters and lora misuse name the param', async () => {
  await rejects(client.completions.create({ model: 'eco-tiny', prompt: 'x', merged_adapters: { ids: ['reverse'], weights: [1, 2] } }),
    OpenAI.BadRequestError, 400, 'invalid_request', 'merged_adapters.weights');
  await rejects(client.completions.create({ model: 'eco-tiny', prompt: 'x', merged_adapters: { ids: ['reverse', 'eco-tiny'] } }),
    OpenAI.BadRequestError, 400, 'invalid_request', 'merged_adapters.ids[1]');
  await rejects(client.completions.create({ model: 'eco-tiny', prompt: 'x', merged_adapters: { ids: ['reverse'], density: 0 } }),
    OpenAI.BadRequestError, 400, 'invalid_request', 'merged_adapters.density');
  await rejects(client.completions.create({ model: 'eco-tiny', prompt: 'x', lora: [{ id: 'reverse' }], merged_adapters: { ids: ['sort'] } }),
    OpenAI.BadRequestError, 400, 'invalid_request', 'merged_adapters');
  await rejects(client.completions.create({ model: 'reverse', prompt: 'x', lora: [{ id: 'sort' }] }),
    OpenAI.BadRequestError, 400, 'invalid_request', 'model');
});
await check('routing: a cascade through the router says which model answered', async () => {
  const r = await client.completions.create({ model: 'cascade', prompt: REV, stop: '\n', ...greedy,
    routing: { policy: 'cascade', threshold: 1, stages: ['sort', 'reverse'] } });
  assert.equal(r.x_ecology_routed_to, 'reverse');
  assert.equal(r.choices[0].text, WANT);
  assert.equal(r.model, 'cascade');
  await rejects(client.completions.create({ model: 'cascade', prompt: REV, routing: { policy: 'cascade' } }),
    OpenAI.BadRequestError, 400, 'invalid_request', 'routing');
});
await check('chat with a ChatML-template model = the completion of the ChatML text, stop <|im_end|>', async () => {
  const c = await client.chat.completions.create({ model: 'tiny-chatml', messages: [{ role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' }], max_tokens: 12, temperature: 0 });
  const p = await client.completions.create({ model: 'tiny-chatml', max_tokens: 12, temperature: 0, stop: '<|im_end|>',
    prompt: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n' });
  assert.equal(c.choices[0].message.content, p.choices[0].text);
  assert.equal(c.usage.prompt_tokens, p.usage.prompt_tokens);
  await rejects(client.chat.completions.create({ model: 'tiny-weird', messages: [{ role: 'user', content: 'Hi' }] }),
    OpenAI.BadRequestError, 400, 'unsupported_chat_template', 'model');
});

await check('admin key on /admin/aliases', async () => {
  const r = await admin.get('/admin/aliases');
  assert.equal(r.aliases['text.reverse@1.champion'], 'reverse');
});

await check('admin: a promotion is gated (409 without an accepted report), then moves the alias', async () => {
  await rejects(admin.post('/admin/aliases', { body: { capability: 'text.sort@1', model: 'sort' } }),
    OpenAI.ConflictError, 409, 'gate_refused', 'model');
  await rejects(root.post('/admin/aliases', { body: { capability: 'text.sort@1', model: 'sort' } }),
    OpenAI.PermissionDeniedError, 403, 'insufficient_scope');
  const r = await admin.post('/admin/aliases', { body: { capability: 'text.sort@1', model: 'sort', require_report: false } });
  assert.deepEqual(r, { alias: 'text.sort@1.champion', model: 'sort' });
  const c = await client.completions.create({ model: 'text.sort@1.champion', prompt: REV, stop: '\n', ...greedy });
  assert.equal(c.model, 'sort');
  await rejects(admin.post('/admin/aliases', { body: { capability: 'text.sort@1', model: 'reverse', expect: 'eco-tiny',
    require_report: false } }), OpenAI.ConflictError, 409, 'conflict', 'expect');
  await rejects(admin.post('/admin/aliases', { body: { capability: 'text.sort@1' } }), OpenAI.BadRequestError, 400);
});

console.log(`serve_openai: ${failed} failed`);
process.exit(failed ? 1 : 0);
