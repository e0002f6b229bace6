// Validates Strimzi resources read as a JSON array on stdin against the CRD schemas of Strimzi 1.0.0
// (compiled by @kubernetes-models/strimzi-kafka-operator). Prints a JSON array of {name, errors}.
import { KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaTopic";

const kinds = { "kafka.strimzi.io/v1/KafkaTopic": KafkaTopic };
let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const doc of JSON.parse(input)) {
  const model = kinds[`${doc.apiVersion}/${doc.kind}`];
  const name = doc?.metadata?.name ?? "?";
  if (!model) {
    results.push({ name, errors: [`no schema for ${doc.apiVersion} ${doc.kind}`] });
    continue;
  }
  try {
    new model(doc).validate();
    results.push({ name, errors: [] });
  } catch (err) {
    results.push({ name, errors: [String(err.message ?? err)] });
  }
}
process.stdout.write(JSON.stringify(results));
