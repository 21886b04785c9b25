// A publisher no one in the hub wrote: it builds attribute.verified events with the official
// CloudEvents SDK and sends them to the attributes topic with kafkajs, alternating the Kafka
// binding's binary and structured modes. The record key is the `partitionkey` extension (the
// resident's hub id), as the binding's key mapping says.
//
// Usage: node publish-attributes.mjs BOOTSTRAP TOPIC CLAIMS_FILE
// CLAIMS_FILE is a JSON array of {source, resident, attribute, value, assurance, method,
// verified_at}. Prints one JSON line per event sent: {"id", "mode", "partition", "offset"}.
// Exits 0 once Kafka has acknowledged every event, 1 on any failure.

import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { CloudEvent, Kafka as Binding } from "cloudevents";
import { Kafka, Partitioners, logLevel } from "kafkajs";

const VERIFIED = "uk.gov.rps.attribute.verified.v1";

function event(claim) {
  return new CloudEvent({
    specversion: "1.0",
    id: `node-${randomUUID()}`,
    source: claim.source,
    type: VERIFIED,
    subject: claim.resident,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    partitionkey: claim.resident,
    data: {
      attribute: claim.attribute,
      value: claim.value,
      assurance: claim.assurance,
      method: claim.method,
      verified_at: claim.verified_at,
    },
  });
}

// kafkajs wants a string or a Buffer; the SDK's binary mode gives the data as it is, and a
// header for every attribute the event object has, unset ones (dataschema...) included:
// those are left out rather than sent as the text "undefined".
function record(message) {
  const value =
    typeof message.value === "string" || Buffer.isBuffer(message.value)
      ? message.value
      : JSON.stringify(message.value);
  const headers = Object.fromEntries(
    Object.entries(message.headers)
      .filter(([, text]) => text !== undefined && text !== null)
      .map(([name, text]) => [name, String(text)]),
  );
  return { key: message.key, value, headers };
}

async function main([bootstrap, topic, claimsFile]) {
  if (!bootstrap || !topic || !claimsFile) {
    console.error("usage: node publish-attributes.mjs BOOTSTRAP TOPIC CLAIMS_FILE");
    return 2;
  }
  const claims = JSON.parse(await readFile(claimsFile, "utf8"));
  const kafka = new Kafka({
    clientId: "rps-node-client-check",
    brokers: bootstrap.split(","),
    logLevel: logLevel.ERROR,
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (const [index, claim] of claims.entries()) {
      const ce = event(claim);
      const mode = index % 2 === 0 ? "binary" : "structured";
      const message = mode === "binary" ? Binding.binary(ce) : Binding.structured(ce);
      const [sent] = await producer.send({ topic, acks: -1, messages: [record(message)] });
      console.log(
        JSON.stringify({ id: ce.id, mode, partition: sent.partition, offset: sent.baseOffset }),
      );
    }
  } finally {
    await producer.disconnect();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`publish failed: ${error.message}`);
    process.exit(1);
  },
);
