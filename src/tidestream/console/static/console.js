// The tidestream web console: a page over the server's own AWS APIs (docs/console.md).
// Every read and write is a DynamoDB or Kinesis call on POST /, signed when the user signed in,
// so the console can do nothing a client with the same key could not.
"use strict";

const CREDENTIALS_KEY = "tidestream.console.credentials";
const TARGETS = {
  dynamodb: { prefix: "DynamoDB_20120810.", contentType: "application/x-amz-json-1.0" },
  kinesis: { prefix: "Kinesis_20131202.", contentType: "application/x-amz-json-1.1" },
};
const AUTH_ERRORS = new Set(["MissingAuthenticationTokenException", "UnrecognizedClientException",
  "InvalidSignatureException", "IncompleteSignatureException"]);
const PAGE_SIZE = 25;
const FLOW_POLL_MS = 1000;
const FLOW_KEEP_RECORDS = 200;
const CHART_POINTS = 120;
const THROUGHPUT_SECONDS = 5;
const ATTRIBUTE_TYPES = new Set(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]);

// ------------------------------------------------------------------ calling the server
class ApiError extends Error {
  constructor(code, message, status) { super(`${code}: ${message}`); this.code = code; this.status = status; }
}

function credentials() {
  try { return JSON.parse(sessionStorage.getItem(CREDENTIALS_KEY) || "null"); } catch { return null; }
}

async function signedHeaders(method, path, headers, body, service) {
  const creds = credentials();
  if (!creds) return {};
  return SigV4.sign({ method, path, headers, body, service, region: creds.region,
    accessKey: creds.accessKey, secretKey: creds.secretKey });
}

async function api(service, operation, params = {}) {
  const { prefix, contentType } = TARGETS[service];
  const body = JSON.stringify(params);
  const headers = { "Content-Type": contentType, "X-Amz-Target": prefix + operation };
  Object.assign(headers, await signedHeaders("POST", "/", headers, body, service));
  const response = await fetch("/", { method: "POST", headers, body, credentials: "omit" });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = (data.__type || "Error").split("#").pop();
    throw new ApiError(code, data.message || data.Message || response.statusText, response.status);
  }
  return data;
}

async function adminJson(path) {
  const headers = await signedHeaders("GET", path, {}, "", "dynamodb");
  const response = await fetch(path, { headers, credentials: "omit" });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.__type || "Error", data.message || response.statusText, response.status);
  return data;
}

// ------------------------------------------------------------------ small DOM helpers
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// A table with headings; `rows` is a list of <tr>, or a <tbody> the caller keeps filling.
function tableOf(headings, rows) {
  const body = rows instanceof HTMLElement && rows.tagName === "TBODY" ? rows : el("tbody", {}, rows);
  return el("table", {}, el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))), body);
}

function showError(error) {
  const box = document.getElementById("error");
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

function render(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.flat().filter(Boolean));
}

// Plain text for one DynamoDB attribute value, for reading (the editor keeps DynamoDB JSON).
function plain(value) {
  if (value === undefined) return "";
  const [type, inner] = Object.entries(value)[0] || ["", ""];
  if (type === "S" || type === "N" || type === "B") return type === "S" ? JSON.stringify(inner) : String(inner);
  if (type === "BOOL" || type === "NULL") return String(inner);
  if (type === "M") return "{" + Object.entries(inner).map(([k, v]) => `${k}: ${plain(v)}`).join(", ") + "}";
  if (type === "L") return "[" + inner.map(plain).join(", ") + "]";
  return type + JSON.stringify(inner);
}

// ------------------------------------------------------------------ routing
let stopView = () => {};

const ROUTES = [
  [/^#\/table\/(.+)$/, (name) => tableView(name)],
  [/^#\/stream\/(.+)$/, (name) => streamView(name)],
  [/^#\/flow\/(.+)$/, (name) => flowView(name)],
  [/^#\/streams$/, () => streamsView()],
  [/^#\/login$/, () => loginView()],
  [/^.*$/, () => tablesView()],
];

async function route() {
  stopView();
  stopView = () => {};
  const hash = location.hash || "#/tables";
  for (const [pattern, view] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    try {
      await view(...match.slice(1).map(decodeURIComponent));
    } catch (error) {
      if (error instanceof ApiError && AUTH_ERRORS.has(error.code)) return loginView(error);
      render(el("p", { class: "invalid" }, error.message));
    }
    return;
  }
}

function showWho(signingIn = false) {
  const creds = credentials();
  const who = document.getElementById("who");
  if (!creds) { who.replaceChildren(signingIn ? "not signed in" : "unsigned requests"); return; }
  who.replaceChildren(`signed as ${creds.accessKey} (${creds.region}) `,
    el("a", { href: "#/login", id: "sign-out", onclick: () => sessionStorage.removeItem(CREDENTIALS_KEY) }, "sign out"));
}

// ------------------------------------------------------------------ sign in (--auth enforce)
function loginView(reason, previous = {}) {
  showWho(true);
  if (!SigV4.available()) {
    return render(el("p", { class: "note" }, "This server requires signed requests, and this page cannot sign them: " +
      "the browser offers WebCrypto only on https:// or http://localhost / 127.0.0.1. Serve with --tls-cert, " +
      "or reach the server through an SSH tunnel to localhost."));
  }
  const form = el("form", { class: "login", id: "login" },
    el("p", {}, "This server checks signatures (--auth enforce). Enter a key from its credentials file; " +
      "the secret stays in this tab (sessionStorage) and only signatures are sent."),
    reason ? el("p", { class: "invalid" }, reason.message) : null,
    el("label", {}, "Access key id ", el("input", { name: "accessKey", required: true, autocomplete: "username", value: previous.accessKey })),
    el("label", {}, "Secret access key ", el("input", { name: "secretKey", type: "password", required: true, autocomplete: "current-password" })),
    el("label", {}, "Region ", el("input", { name: "region", value: previous.region || "us-east-1", required: true })),
    el("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify(data));
    try {
      await api("dynamodb", "ListTables", { Limit: 1 });
    } catch (error) {
      sessionStorage.removeItem(CREDENTIALS_KEY);
      return loginView(error, { accessKey: data.accessKey, region: data.region });
    }
    showWho();
    if (location.hash === "#/login") location.hash = "#/tables";
    else route(); // back to the page that asked for a signature
  });
  render(el("h2", {}, "Sign in"), form);
}

// ------------------------------------------------------------------ tables
async function listAll(service, operation, field, tokenIn, tokenOut, params = {}) {
  const names = [];
  let token;
  do {
    const page = await api(service, operation, token ? { ...params, [tokenIn]: token } : params);
    names.push(...page[field]);
    token = page[tokenOut];
  } while (token);
  return names;
}

function keyText(schema) {
  return schema.map((k) => `${k.AttributeName} (${k.KeyType})`).join(", ");
}

async function tablesView() {
  showWho();
  const names = await listAll("dynamodb", "ListTables", "TableNames", "ExclusiveStartTableName", "LastEvaluatedTableName");
  const tables = await Promise.all(names.map((name) => api("dynamodb", "DescribeTable", { TableName: name })));
  const rows = tables.map(({ Table: t }) => el("tr", { class: "clickable", "data-table": t.TableName,
    onclick: () => { location.hash = "#/table/" + encodeURIComponent(t.TableName); } },
    el("td", {}, el("a", { href: "#/table/" + encodeURIComponent(t.TableName) }, t.TableName)),
    el("td", {}, t.TableStatus), el("td", {}, keyText(t.KeySchema)), el("td", {}, t.ItemCount),
    el("td", {}, t.TableSizeBytes), el("td", {}, (t.GlobalSecondaryIndexes || []).length + (t.LocalSecondaryIndexes || []).length),
    el("td", {}, el("a", { href: "#/flow/" + encodeURIComponent(t.TableName) }, "change flow"))));
  render(el("h2", {}, "Tables"),
    names.length ? tableOf(["Name", "Status", "Key", "Items", "Bytes", "Indexes", ""], rows)
      : el("p", { class: "muted", id: "no-tables" }, "No tables in this account and region."),
    el("button", { onclick: route }, "Refresh"));
}

function indexRows(table) {
  const indexes = [...(table.GlobalSecondaryIndexes || []).map((i) => ["global", i]),
    ...(table.LocalSecondaryIndexes || []).map((i) => ["local", i])];
  return indexes.map(([kind, i]) => el("tr", {}, el("td", {}, i.IndexName), el("td", {}, kind),
    el("td", {}, keyText(i.KeySchema)), el("td", {}, i.Projection.ProjectionType),
    el("td", {}, i.IndexStatus || "ACTIVE"), el("td", {}, i.ItemCount ?? "")));
}

function schemaSection(table, destinations) {
  const types = Object.fromEntries(table.AttributeDefinitions.map((a) => [a.AttributeName, a.AttributeType]));
  const keys = table.KeySchema.map((k) => el("tr", {}, el("td", {}, k.AttributeName), el("td", {}, k.KeyType), el("td", {}, types[k.AttributeName])));
  const dests = destinations.map((d) => el("tr", {}, el("td", {}, d.StreamArn), el("td", {}, d.DestinationStatus),
    el("td", {}, el("a", { href: "#/stream/" + encodeURIComponent(d.StreamArn.split("/").pop()) }, "stream"), " ",
      el("a", { href: "#/flow/" + encodeURIComponent(table.TableName) }, "live change flow"))));
  return [
    el("p", {}, `Status ${table.TableStatus} · ${table.ItemCount} items · ${table.TableSizeBytes} bytes · `,
      `billing ${table.BillingModeSummary?.BillingMode || "PROVISIONED"}`),
    tableOf(["Key attribute", "Role", "Type"], keys),
    indexRows(table).length ? [el("h3", {}, "Indexes"), tableOf(["Index", "Kind", "Key", "Projection", "Status", "Items"], indexRows(table))] : null,
    dests.length ? [el("h3", {}, "Kinesis destinations"), tableOf(["Stream", "Status", ""], dests)] : null,
  ];
}

async function tableView(name) {
  showWho();
  const { Table: table } = await api("dynamodb", "DescribeTable", { TableName: name });
  const { KinesisDataStreamDestinations: destinations = [] } =
    await api("dynamodb", "DescribeKinesisStreamingDestination", { TableName: name });
  const browser = itemBrowser(table);
  const isLeaseTable = table.KeySchema.length === 1 && table.KeySchema[0].AttributeName === "leaseKey";
  render(el("h2", {}, "Table ", el("span", { id: "table-name" }, name)), schemaSection(table, destinations),
    isLeaseTable ? await leasesSection(table) : null, el("h3", {}, "Items"), browser.node);
  await browser.run();
}

// ------------------------------------------------------------------ consumers' leases and lag
// A table keyed by "leaseKey" is a KCL lease table (Java KCL or `tidestream consume`): one row
// per shard with its owner and checkpoint. Lag is measured on demand only (one GetRecords per
// lease, after its checkpoint: MillisBehindLatest), so an open page costs the server nothing.
async function leasesSection(table) {
  const { Items: leases = [] } = await api("dynamodb", "Scan", { TableName: table.TableName, Limit: 1000 });
  const lagCells = new Map();
  const rows = leases.map((lease) => {
    const lag = el("td", { class: "lease-lag" }, "");
    lagCells.set(lease, lag);
    return el("tr", { "data-lease": lease.leaseKey?.S }, el("td", {}, lease.leaseKey?.S), el("td", {}, lease.leaseOwner?.S || "(free)"),
      el("td", {}, lease.leaseCounter?.N), el("td", { class: "json" }, lease.checkpoint?.S || ""),
      el("td", {}, lease.ownerSwitchesSinceCheckpoint?.N || "0"), lag);
  });
  const streams = await listAll("kinesis", "ListStreams", "StreamNames", "NextToken", "NextToken");
  const choice = el("select", { id: "lease-stream" }, streams.map((n) => el("option", { value: n }, n)));
  const measure = async () => {
    for (const [lease, cell] of lagCells) cell.textContent = await leaseLag(choice.value, lease).catch((e) => e.code || e.message);
  };
  return [el("h3", {}, "Consumer leases (KCL lease table)"),
    tableOf(["Shard", "Owner", "Counter", "Checkpoint", "Owner switches", "Lag (ms behind latest)"], rows),
    el("div", {}, "Stream read by this application: ", choice, " ",
      el("button", { id: "measure-lag", onclick: () => measure().catch(showError) }, "Measure lag"))];
}

async function leaseLag(streamName, lease) {
  const checkpoint = lease.checkpoint?.S || "";
  if (checkpoint === "SHARD_END") return "shard finished";
  if (!/^\d+$/.test(checkpoint)) return `no checkpoint yet (${checkpoint || "none"})`;
  const { ShardIterator } = await api("kinesis", "GetShardIterator", { StreamName: streamName, ShardId: lease.leaseKey.S,
    ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: checkpoint });
  const result = await api("kinesis", "GetRecords", { ShardIterator, Limit: 1 });
  return result.Records.length ? String(result.MillisBehindLatest ?? 0) : "0 (caught up)";
}

function typedKey(table, attribute, text) {
  const type = table.AttributeDefinitions.find((a) => a.AttributeName === attribute).AttributeType;
  return { [type]: text };
}

function keyOf(table, item) {
  return Object.fromEntries(table.KeySchema.map((k) => [k.AttributeName, item[k.AttributeName]]));
}

// The Scan / Query form, its results (paged) and the item editor.
function itemBrowser(table) {
  const indexNames = [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])].map((i) => i.IndexName);
  const form = {
    mode: el("select", { id: "mode" }, el("option", { value: "Scan" }, "Scan"), el("option", { value: "Query" }, "Query")),
    index: el("select", { id: "index" }, el("option", { value: "" }, "(table)"), indexNames.map((n) => el("option", { value: n }, n))),
    partition: el("input", { id: "partition-value", placeholder: "partition key value" }),
    sortOp: el("select", { id: "sort-op" }, ["=", "begins_with", "<", "<=", ">", ">="].map((o) => el("option", { value: o }, o))),
    sort: el("input", { id: "sort-value", placeholder: "sort key value (optional)" }),
  };
  const results = el("div", { id: "results" });
  const editor = el("div", { id: "editor" });
  const pages = [undefined];
  let page = 0;

  function schemaFor() {
    const index = [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])]
      .find((i) => i.IndexName === form.index.value);
    return (index || table).KeySchema;
  }

  function request() {
    const params = { TableName: table.TableName, Limit: PAGE_SIZE };
    if (form.index.value) params.IndexName = form.index.value;
    if (pages[page]) params.ExclusiveStartKey = pages[page];
    if (form.mode.value === "Query") Object.assign(params, queryCondition(table, schemaFor(), form));
    return params;
  }

  async function run() {
    const result = await api("dynamodb", form.mode.value, request());
    pages[page + 1] = result.LastEvaluatedKey;
    showResults(result.Items || [], result.LastEvaluatedKey);
  }

  function showResults(items, more) {
    const keys = table.KeySchema.map((k) => k.AttributeName);
    const rows = items.map((item) => el("tr", { class: "clickable item-row", onclick: () => editItem(table, item, editor, run) },
      keys.map((k) => el("td", {}, plain(item[k]))),
      el("td", { class: "json" }, Object.entries(item).filter(([k]) => !keys.includes(k)).map(([k, v]) => `${k}: ${plain(v)}`).join(", "))));
    results.replaceChildren(
      items.length ? tableOf([...keys, "attributes"], rows) : el("p", { class: "muted", id: "no-items" }, "No items."),
      el("span", { class: "muted" }, `page ${page + 1}, ${items.length} items `),
      el("button", { id: "prev-page", disabled: page === 0 || undefined, onclick: () => { page -= 1; run().catch(showError); } }, "Previous"),
      el("button", { id: "next-page", disabled: !more || undefined, onclick: () => { page += 1; run().catch(showError); } }, "Next"));
  }

  const search = () => { pages.length = 1; page = 0; run().catch(showError); };
  const node = el("div", {},
    el("div", {}, form.mode, " on ", form.index, " ", form.partition, " ", form.sortOp, " ", form.sort, " ",
      el("button", { id: "run", onclick: search }, "Run"),
      el("button", { id: "add-item", onclick: () => editItem(table, null, editor, run) }, "Add item")),
    editor, results);
  return { node, run };
}

function queryCondition(table, schema, form) {
  const [hash, range] = [schema.find((k) => k.KeyType === "HASH"), schema.find((k) => k.KeyType === "RANGE")];
  if (!form.partition.value) throw new ApiError("ValidationException", "Query needs a partition key value", 400);
  const names = { "#p": hash.AttributeName };
  const values = { ":p": typedKey(table, hash.AttributeName, form.partition.value) };
  let expression = "#p = :p";
  if (range && form.sort.value) {
    names["#s"] = range.AttributeName;
    values[":s"] = typedKey(table, range.AttributeName, form.sort.value);
    expression += form.sortOp.value === "begins_with" ? " AND begins_with(#s, :s)" : ` AND #s ${form.sortOp.value} :s`;
  }
  return { KeyConditionExpression: expression, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

// What is wrong with an item typed as DynamoDB JSON (null when nothing): checked before it is
// sent so a typo gets a precise message; the server still validates everything it receives.
function itemProblem(table, item, originalKey) {
  if (item === null || typeof item !== "object" || Array.isArray(item)) return "An item is a JSON object of attributes.";
  for (const [name, value] of Object.entries(item)) {
    const types = value && typeof value === "object" ? Object.keys(value) : [];
    if (types.length !== 1 || !ATTRIBUTE_TYPES.has(types[0])) {
      return `Attribute "${name}" must be one typed value such as {"S": "text"} or {"N": "1"}.`;
    }
  }
  for (const key of table.KeySchema) {
    const want = table.AttributeDefinitions.find((a) => a.AttributeName === key.AttributeName).AttributeType;
    if (!item[key.AttributeName]) return `The key attribute "${key.AttributeName}" is missing.`;
    if (!(want in item[key.AttributeName])) return `The key attribute "${key.AttributeName}" must be of type ${want}.`;
  }
  if (originalKey && JSON.stringify(keyOf(table, item)) !== JSON.stringify(originalKey)) {
    return "The key cannot change when editing: add a new item (and delete this one) instead.";
  }
  return null;
}

function editItem(table, item, editor, refresh) {
  const template = item || Object.fromEntries(table.KeySchema.map((k) => [k.AttributeName, typedKey(table, k.AttributeName, "")]));
  const text = el("textarea", { id: "item-json", spellcheck: "false" });
  text.value = JSON.stringify(template, null, 2);
  const message = el("p", { id: "item-message", class: "invalid" });
  const originalKey = item ? keyOf(table, item) : null;
  async function save() {
    let parsed;
    try { parsed = JSON.parse(text.value); } catch (error) { message.textContent = "Not valid JSON: " + error.message; return; }
    const problem = itemProblem(table, parsed, originalKey);
    if (problem) { message.textContent = problem; return; }
    try {
      await api("dynamodb", "PutItem", { TableName: table.TableName, Item: parsed });
    } catch (error) { message.textContent = error.message; return; }
    editor.replaceChildren();
    await refresh();
  }
  async function remove() {
    if (!confirm("Delete this item?")) return;
    try {
      await api("dynamodb", "DeleteItem", { TableName: table.TableName, Key: originalKey });
    } catch (error) { message.textContent = error.message; return; }
    editor.replaceChildren();
    await refresh();
  }
  editor.replaceChildren(el("h3", {}, item ? "Edit item (DynamoDB JSON)" : "New item (DynamoDB JSON)"), text, message,
    el("button", { id: "save-item", onclick: save }, item ? "Save" : "Add"),
    item ? el("button", { id: "delete-item", onclick: remove }, "Delete") : null,
    el("button", { id: "cancel-item", onclick: () => editor.replaceChildren() }, "Cancel"));
}

// ------------------------------------------------------------------ streams
async function streamsView() {
  showWho();
  const names = await listAll("kinesis", "ListStreams", "StreamNames", "NextToken", "NextToken");
  const summaries = await Promise.all(names.map((name) => api("kinesis", "DescribeStreamSummary", { StreamName: name })));
  const rows = summaries.map(({ StreamDescriptionSummary: s }) => el("tr", { class: "clickable", "data-stream": s.StreamName,
    onclick: () => { location.hash = "#/stream/" + encodeURIComponent(s.StreamName); } },
    el("td", {}, el("a", { href: "#/stream/" + encodeURIComponent(s.StreamName) }, s.StreamName)),
    el("td", {}, s.StreamStatus), el("td", {}, s.StreamModeDetails?.StreamMode || "PROVISIONED"),
    el("td", {}, s.OpenShardCount), el("td", {}, s.RetentionPeriodHours + " h"),
    el("td", {}, s.ConsumerCount ?? 0), el("td", {}, s.EncryptionType || "NONE")));
  render(el("h2", {}, "Streams"),
    names.length ? tableOf(["Name", "Status", "Mode", "Open shards", "Retention", "Consumers", "Encryption"], rows)
      : el("p", { class: "muted" }, "No streams in this account and region."));
}

async function allShards(streamArn) {
  const shards = [];
  let token;
  do {
    const page = await api("kinesis", "ListShards", token ? { NextToken: token } : { StreamARN: streamArn });
    shards.push(...page.Shards);
    token = page.NextToken;
  } while (token);
  return shards;
}

async function streamView(name) {
  showWho();
  const { StreamDescriptionSummary: s } = await api("kinesis", "DescribeStreamSummary", { StreamName: name });
  const [shards, consumers] = await Promise.all([allShards(s.StreamARN),
    api("kinesis", "ListStreamConsumers", { StreamARN: s.StreamARN }).then((r) => r.Consumers || [])]);
  const shardRows = shards.map((shard) => el("tr", { "data-shard": shard.ShardId }, el("td", {}, shard.ShardId),
    el("td", {}, shard.SequenceNumberRange.EndingSequenceNumber ? "closed" : "open"),
    el("td", { class: "json" }, shard.HashKeyRange.StartingHashKey), el("td", { class: "json" }, shard.HashKeyRange.EndingHashKey),
    el("td", {}, shard.ParentShardId || ""), el("td", {}, shard.AdjacentParentShardId || "")));
  const consumerRows = consumers.map((c) => el("tr", {}, el("td", {}, c.ConsumerName), el("td", {}, c.ConsumerStatus),
    el("td", {}, new Date(c.ConsumerCreationTimestamp * 1000).toISOString())));
  const throughput = el("div", { id: "throughput" });
  const measureButton = el("button", { id: "measure-throughput", onclick: () => measureThroughput(s.StreamARN, shards, throughput, measureButton).catch(showError) },
    `Measure per-shard throughput (${THROUGHPUT_SECONDS} s)`);
  render(el("h2", {}, "Stream ", el("span", { id: "stream-name" }, name)),
    el("p", {}, `Status ${s.StreamStatus} · ${s.StreamModeDetails?.StreamMode || "PROVISIONED"} · retention ${s.RetentionPeriodHours} h · ${s.OpenShardCount} open shards`),
    el("h3", {}, "Shards (hash ranges and lineage)"),
    tableOf(["Shard", "State", "Hash range start", "Hash range end", "Parent", "Adjacent parent"], shardRows),
    el("h3", {}, "Per-shard throughput"), measureButton, throughput,
    el("h3", {}, "Enhanced fan-out consumers"),
    consumers.length ? tableOf(["Consumer", "Status", "Created"], consumerRows) : el("p", { class: "muted" }, "None registered."));
}

// Records and bytes written to each open shard over a few seconds, read with GetRecords from
// LATEST like a consumer would. Measured only when asked, so an open page costs nothing.
async function measureThroughput(streamArn, shards, target, button) {
  button.disabled = true;
  const open = shards.filter((shard) => !shard.SequenceNumberRange.EndingSequenceNumber);
  const totals = new Map(open.map((shard) => [shard.ShardId, { records: 0, bytes: 0 }]));
  const iterators = new Map();
  for (const shard of open) {
    const { ShardIterator } = await api("kinesis", "GetShardIterator", { StreamARN: streamArn, ShardId: shard.ShardId, ShardIteratorType: "LATEST" });
    iterators.set(shard.ShardId, ShardIterator);
  }
  target.replaceChildren(el("p", { id: "throughput-status", class: "muted" }, `measuring ${open.length} open shard(s)…`));
  for (let second = 0; second < THROUGHPUT_SECONDS; second++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await Promise.all([...iterators].map(async ([shardId, iterator]) => {
      const result = await api("kinesis", "GetRecords", { ShardIterator: iterator, Limit: 10000 });
      iterators.set(shardId, result.NextShardIterator);
      const total = totals.get(shardId);
      total.records += result.Records.length;
      total.bytes += result.Records.reduce((sum, r) => sum + atob(r.Data).length, 0);
    }));
  }
  const rows = [...totals].map(([shardId, t]) => el("tr", { "data-throughput": shardId }, el("td", {}, shardId),
    el("td", { class: "records" }, t.records), el("td", {}, (t.records / THROUGHPUT_SECONDS).toFixed(1)),
    el("td", {}, (t.bytes / 1024 / THROUGHPUT_SECONDS).toFixed(1))));
  target.replaceChildren(tableOf(["Shard", `records in ${THROUGHPUT_SECONDS} s`, "records/s", "KiB/s"], rows));
  button.disabled = false;
}

// ------------------------------------------------------------------ the live change flow
// Polls GetRecords on each shard of the table's destination stream, like any consumer would,
// and the console's CDC endpoint for what no AWS API shows (outbox depth, replication age).
async function flowView(tableName) {
  showWho();
  const { KinesisDataStreamDestinations: destinations = [] } =
    await api("dynamodb", "DescribeKinesisStreamingDestination", { TableName: tableName });
  const destination = destinations.find((d) => d.DestinationStatus === "ACTIVE") || destinations[0];
  if (!destination) {
    return render(el("h2", {}, "Change flow of ", tableName), el("p", { class: "note", id: "no-destination" },
      "This table has no Kinesis destination: enable one with EnableKinesisStreamingDestination to see its changes flow."));
  }
  const flow = new ChangeFlow(tableName, destination.StreamArn);
  render(flow.node);
  stopView = () => flow.stop();
  await flow.start();
}

class ChangeFlow {
  constructor(tableName, streamArn) {
    this.tableName = tableName;
    this.streamArn = streamArn;
    this.iterators = new Map(); // shard id -> next iterator
    this.perShard = new Map(); // shard id -> {total, window, millisBehind}
    this.lastPublished = null;
    this.chartData = [[], []];
    this.ticks = 0;
    this.stats = { rate: el("b", { id: "rate" }, "0"), outbox: el("b", { id: "outbox-depth" }, "–"),
      age: el("b", { id: "replication-age" }, "–"), seen: el("b", { id: "seen" }, "0") };
    this.status = el("p", { id: "flow-status", class: "muted" }, "starting…");
    this.shardTable = el("div", { id: "flow-shards" });
    this.records = el("tbody", { id: "flow-records" });
    this.chart = el("div", { id: "flow-chart" });
    this.node = el("div", {}, el("h2", {}, "Change flow of ", tableName),
      el("p", {}, "Destination ", el("a", { href: "#/stream/" + encodeURIComponent(streamArn.split("/").pop()) }, streamArn)),
      el("div", { class: "stats" }, el("div", {}, this.stats.rate, "records/s published"),
        el("div", {}, this.stats.outbox, "outbox depth"), el("div", {}, this.stats.age, "AgeOfOldestUnreplicatedRecord (ms)"),
        el("div", {}, this.stats.seen, "records seen here")),
      this.chart, this.status, this.shardTable,
      tableOf(["Arrived", "Event", "Shard", "Keys", "Change (old → new)"], this.records));
  }

  async start() {
    this.makeChart();
    await this.refreshShards("LATEST");
    if (this.stopped) return; // the user left while the iterators were being taken
    this.timer = setInterval(() => this.tick().catch(showError), FLOW_POLL_MS);
    this.status.textContent = `watching ${this.iterators.size} shard(s), polling every ${FLOW_POLL_MS} ms`;
  }

  stop() { clearInterval(this.timer); this.stopped = true; }

  makeChart() {
    if (typeof uPlot === "undefined") {
      this.chart.replaceChildren(el("p", { class: "note", id: "chart-missing" },
        "Chart unavailable: the charting library (uPlot) is not installed with this server. " +
        "Run `npm ci` in the console/ folder of the source tree (docs/console.md); the numbers here still update."));
      return;
    }
    this.plot = new uPlot({ width: 720, height: 200, title: "records/s published to the destination stream",
      scales: { x: { time: true } }, series: [{}, { label: "records/s", stroke: "#1f6feb", fill: "rgba(31,111,235,.1)" }] },
    this.chartData, this.chart);
  }

  // Iterators for shards not yet followed: LATEST at the start, TRIM_HORIZON for shards that
  // appear later (children of a split or merge hold records written after the start).
  async refreshShards(position) {
    const shards = await allShards(this.streamArn);
    for (const shard of shards) {
      if (this.perShard.has(shard.ShardId)) continue;
      this.perShard.set(shard.ShardId, { total: 0, window: 0, millisBehind: 0 });
      if (shard.SequenceNumberRange.EndingSequenceNumber && position === "LATEST") continue;
      const { ShardIterator } = await api("kinesis", "GetShardIterator",
        { StreamARN: this.streamArn, ShardId: shard.ShardId, ShardIteratorType: position });
      this.iterators.set(shard.ShardId, ShardIterator);
    }
  }

  async tick() {
    if (document.hidden || this.busy || this.stopped) return; // a hidden tab costs the server nothing
    this.busy = true;
    try {
      this.ticks += 1;
      if (this.ticks % 5 === 0) await this.refreshShards("TRIM_HORIZON");
      await Promise.all([...this.iterators.keys()].map((shardId) => this.readShard(shardId)));
      await this.readMetrics();
      this.showShards();
    } finally { this.busy = false; }
  }

  async readShard(shardId) {
    let result;
    try {
      result = await api("kinesis", "GetRecords", { ShardIterator: this.iterators.get(shardId), Limit: 100 });
    } catch (error) {
      if (error.code !== "ExpiredIteratorException") throw error;
      return this.renewIterator(shardId); // the tab slept past the iterator's 5 minutes
    }
    const stats = this.perShard.get(shardId);
    if (result.Records.length) stats.lastSequence = result.Records.at(-1).SequenceNumber;
    if (result.NextShardIterator) this.iterators.set(shardId, result.NextShardIterator);
    else this.iterators.delete(shardId); // a closed shard, read to its end
    stats.window = result.Records.length;
    stats.total += result.Records.length;
    stats.millisBehind = result.MillisBehindLatest ?? 0;
    for (const record of result.Records) this.showRecord(shardId, record);
  }

  // Resume right after the last record shown (or at LATEST if none was): nothing is shown twice.
  async renewIterator(shardId) {
    const last = this.perShard.get(shardId).lastSequence;
    const position = last ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: last } : { ShardIteratorType: "LATEST" };
    const { ShardIterator } = await api("kinesis", "GetShardIterator", { StreamARN: this.streamArn, ShardId: shardId, ...position });
    this.iterators.set(shardId, ShardIterator);
  }

  async readMetrics() {
    const cdc = await adminJson("/_tidestream/console/api/cdc");
    const published = cdc.tables[this.tableName]?.published ?? 0;
    const rate = this.lastPublished ? (published - this.lastPublished.count) * 1000 / Math.max(1, cdc.time - this.lastPublished.time) : 0;
    this.lastPublished = { count: published, time: cdc.time };
    this.stats.rate.textContent = rate.toFixed(1);
    this.stats.outbox.textContent = cdc.outboxDepth;
    this.stats.age.textContent = cdc.ageOfOldestUnreplicatedRecordMs;
    this.chartData[0].push(cdc.time / 1000);
    this.chartData[1].push(rate);
    if (this.chartData[0].length > CHART_POINTS) { this.chartData[0].shift(); this.chartData[1].shift(); }
    if (this.plot) this.plot.setData(this.chartData);
  }

  showShards() {
    const rows = [...this.perShard.entries()].map(([shardId, s]) => el("tr", {}, el("td", {}, shardId),
      el("td", {}, this.iterators.has(shardId) ? "following" : "closed / not followed"),
      el("td", {}, (s.window * 1000 / FLOW_POLL_MS).toFixed(0)), el("td", {}, s.total), el("td", {}, s.millisBehind)));
    this.shardTable.replaceChildren(tableOf(["Shard", "", "records/s", "seen", "MillisBehindLatest"], rows));
    this.stats.seen.textContent = [...this.perShard.values()].reduce((sum, s) => sum + s.total, 0);
  }

  showRecord(shardId, record) {
    let change;
    try { change = JSON.parse(atob(record.Data)); } catch { change = null; }
    if (!change || change.tableName !== this.tableName) return;
    const image = change.dynamodb || {};
    const row = el("tr", { class: "flow-record", "data-event": change.eventName },
      el("td", {}, new Date((record.ApproximateArrivalTimestamp || 0) * 1000).toISOString().slice(11, 23)),
      el("td", { class: "ev-" + change.eventName }, change.eventName), el("td", {}, shardId),
      el("td", { class: "json" }, Object.entries(image.Keys || {}).map(([k, v]) => `${k}: ${plain(v)}`).join(", ")),
      el("td", { class: "json" }, diffLines(image.OldImage, image.NewImage)));
    this.records.prepend(row);
    while (this.records.children.length > FLOW_KEEP_RECORDS) this.records.lastChild.remove();
  }
}

// The old/new image difference, one line per attribute that was added, removed or changed.
function diffLines(oldImage = {}, newImage = {}) {
  const names = [...new Set([...Object.keys(oldImage), ...Object.keys(newImage)])].sort();
  return names.flatMap((name) => {
    const [before, after] = [oldImage[name], newImage[name]];
    if (before === undefined) return [el("div", { class: "diff-add" }, `+ ${name}: ${plain(after)}`)];
    if (after === undefined) return [el("div", { class: "diff-del" }, `- ${name}: ${plain(before)}`)];
    if (JSON.stringify(before) === JSON.stringify(after)) return [];
    return [el("div", { class: "diff-chg" }, `~ ${name}: ${plain(before)} → ${plain(after)}`)];
  });
}

window.addEventListener("hashchange", route);
route();
