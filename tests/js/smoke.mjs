// Smoke test of the AWS SDK for JavaScript v3 against a tidestream endpoint.
// Usage: node smoke.mjs http://127.0.0.1:4566   -> prints one JSON object with the results.
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand,
  PutRecordsCommand, ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand,
  DescribeStreamCommand,
} from "@aws-sdk/client-kinesis";
import {
  DynamoDBClient, CreateTableCommand, PutItemCommand, GetItemCommand, QueryCommand,
} from "@aws-sdk/client-dynamodb";

const endpoint = process.argv[2];
if (!endpoint) {
  console.error("usage: node smoke.mjs ENDPOINT");
  process.exit(2);
}
const common = {
  endpoint, region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
};
const out = { kinesis: {}, dynamodb: {}, wire: { kinesis: [], dynamodb: [] } };

// record what goes on the wire (protocol check: JSON or CBOR)
function recordWire(client, list) {
  client.middlewareStack.add((next) => async (args) => {
    const h = args.request.headers;
    list.push({ target: h["x-amz-target"], contentType: h["content-type"] });
    return next(args);
  }, { step: "finalizeRequest", name: "recordWire" });
}

const dec = new TextDecoder();
const kin = new KinesisClient(common);
recordWire(kin, out.wire.kinesis);
const stream = "js-smoke";
await kin.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
for (let i = 0; i < 200; i++) {
  const s = await kin.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
  if (s.StreamDescriptionSummary.StreamStatus === "ACTIVE") break;
  await new Promise((r) => setTimeout(r, 50));
}
const one = await kin.send(new PutRecordCommand({
  StreamName: stream, PartitionKey: "pk-1", Data: new TextEncoder().encode("hello from js"),
}));
out.kinesis.putRecord = { ShardId: one.ShardId, SequenceNumber: one.SequenceNumber };
const many = await kin.send(new PutRecordsCommand({
  StreamName: stream,
  Records: ["a", "b", "c"].map((k) => ({ PartitionKey: k, Data: new TextEncoder().encode(`rec-${k}`) })),
}));
out.kinesis.putRecords = { FailedRecordCount: many.FailedRecordCount, Records: many.Records };
const shards = (await kin.send(new ListShardsCommand({ StreamName: stream }))).Shards;
out.kinesis.listShards = shards.map((s) => ({ ShardId: s.ShardId, HashKeyRange: s.HashKeyRange }));
const data = [];
for (const s of shards) {
  const it = await kin.send(new GetShardIteratorCommand({
    StreamName: stream, ShardId: s.ShardId, ShardIteratorType: "TRIM_HORIZON",
  }));
  const r = await kin.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  for (const rec of r.Records) {
    data.push({
      ShardId: s.ShardId, PartitionKey: rec.PartitionKey, Data: dec.decode(rec.Data),
      SequenceNumber: rec.SequenceNumber,
      ArrivalIsDate: rec.ApproximateArrivalTimestamp instanceof Date,
      ArrivalMs: rec.ApproximateArrivalTimestamp.getTime(),
    });
  }
  out.kinesis.millisBehindLatest = r.MillisBehindLatest;
  out.kinesis.hasNextIterator = typeof r.NextShardIterator === "string";
}
out.kinesis.getRecords = data;
try {
  await kin.send(new DescribeStreamCommand({ StreamName: "does-not-exist" }));
  out.kinesis.error = null;
} catch (e) {
  out.kinesis.error = { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
}

const ddb = new DynamoDBClient(common);
recordWire(ddb, out.wire.dynamodb);
await ddb.send(new CreateTableCommand({
  TableName: "js-smoke", BillingMode: "PAY_PER_REQUEST",
  KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
  AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
}));
for (const sk of ["1", "2", "3"]) {
  await ddb.send(new PutItemCommand({
    TableName: "js-smoke",
    Item: { pk: { S: "user" }, sk: { N: sk }, name: { S: `item-${sk}` }, blob: { B: new Uint8Array([1, 2, Number(sk)]) } },
  }));
}
const got = await ddb.send(new GetItemCommand({ TableName: "js-smoke", Key: { pk: { S: "user" }, sk: { N: "2" } } }));
out.dynamodb.getItem = { name: got.Item.name.S, sk: got.Item.sk.N, blob: Array.from(got.Item.blob.B) };
const q = await ddb.send(new QueryCommand({
  TableName: "js-smoke", KeyConditionExpression: "pk = :p AND sk >= :s",
  ExpressionAttributeValues: { ":p": { S: "user" }, ":s": { N: "2" } }, ScanIndexForward: false,
}));
out.dynamodb.query = { Count: q.Count, names: q.Items.map((i) => i.name.S) };

console.log(JSON.stringify(out));
