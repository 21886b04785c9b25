package uk.gov.rps.clients;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.cloudevents.CloudEvent;
import io.cloudevents.kafka.CloudEventDeserializer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads one delivery topic from the start, as an authority's own system in Java would, and
 * checks every record: the official CloudEvents SDK must read it (the Kafka binding's content
 * type decides the mode), the record key must be the event's subject, and the value must meet
 * the JSON Schema of its event type from {@code schemas/contracts/json-schema/}.
 *
 * <p>Usage: {@code ValidateDeliveries BOOTSTRAP TOPIC SCHEMA_DIR EXPECTED TIMEOUT_SECONDS}.
 * Prints one line per record (type and id only: never a value) and a summary; exits 0 when at
 * least EXPECTED records were read and every one passed, 1 otherwise, 2 on bad arguments.
 */
public final class ValidateDeliveries {

  private ValidateDeliveries() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 5) {
      System.err.println(
          "usage: ValidateDeliveries BOOTSTRAP TOPIC SCHEMA_DIR EXPECTED TIMEOUT_SECONDS");
      System.exit(2);
    }
    String bootstrap = args[0];
    String topic = args[1];
    Map<String, Schema> schemas = loadSchemas(Path.of(args[2]));
    int expected = Integer.parseInt(args[3]);
    Instant deadline = Instant.now().plusSeconds(Long.parseLong(args[4]));

    List<ConsumerRecord<String, byte[]>> records = read(bootstrap, topic, expected, deadline);
    CloudEventDeserializer sdk = new CloudEventDeserializer();
    sdk.configure(Map.of(), false);
    ObjectMapper json = new ObjectMapper();
    List<String> failures = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> record : records) {
      String where = "offset " + record.partition() + ":" + record.offset();
      CloudEvent event;
      try {
        event = sdk.deserialize(record.topic(), record.headers(), record.value());
      } catch (RuntimeException error) {
        failures.add(where + ": the CloudEvents SDK could not read it: " + error.getMessage());
        continue;
      }
      Schema schema = schemas.get(event.getType());
      if (schema == null) {
        failures.add(where + ": no JSON Schema for type " + event.getType());
        continue;
      }
      String value = new String(record.value(), StandardCharsets.UTF_8);
      List<Error> errors = schema.validate(value, InputFormat.JSON);
      for (Error error : errors) {
        failures.add(where + ": " + error.getInstanceLocation() + " " + error.getMessageKey());
      }
      JsonNode document = json.readTree(value);
      if (!event.getId().equals(document.path("id").asText())
          || !event.getType().equals(document.path("type").asText())) {
        failures.add(where + ": the SDK read another id or type than the record holds");
      }
      if (record.key() == null || !record.key().equals(event.getSubject())) {
        failures.add(where + ": the record key is not the event's subject");
      }
      if (errors.isEmpty()) {
        System.out.println("valid " + event.getType() + " " + event.getId());
      }
    }
    System.out.println(
        records.size() + " records read from " + topic + ", " + failures.size() + " problems");
    if (records.size() < expected) {
      failures.add("expected at least " + expected + " records, read " + records.size());
    }
    for (String failure : failures) {
      System.err.println("FAIL " + failure);
    }
    System.exit(failures.isEmpty() ? 0 : 1);
  }

  /** One schema per event type, keyed by the file name less ".json" (the type). */
  private static Map<String, Schema> loadSchemas(Path dir) throws IOException {
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    Map<String, Schema> schemas = new HashMap<>();
    try (var files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".json")).toList()) {
        String type = file.getFileName().toString().replaceFirst("\\.json$", "");
        schemas.put(type, registry.getSchema(Files.readString(file)));
      }
    }
    if (schemas.isEmpty()) {
      throw new IOException("no JSON Schemas in " + dir);
    }
    return schemas;
  }

  /** Every record of every partition from the start, until EXPECTED are read and the end. */
  private static List<ConsumerRecord<String, byte[]>> read(
      String bootstrap, String topic, int expected, Instant deadline) {
    Properties options = new Properties();
    options.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    options.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    options.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    options.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(options)) {
      List<TopicPartition> partitions = new ArrayList<>();
      while (partitions.isEmpty() && Instant.now().isBefore(deadline)) {
        consumer
            .partitionsFor(topic, Duration.ofSeconds(5))
            .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      while (Instant.now().isBefore(deadline)) {
        consumer.poll(Duration.ofMillis(500)).forEach(records::add);
        if (records.size() >= expected && caughtUp(consumer, partitions)) {
          break;
        }
      }
    }
    return records;
  }

  private static boolean caughtUp(
      KafkaConsumer<String, byte[]> consumer, List<TopicPartition> partitions) {
    Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
    return partitions.stream().allMatch(p -> consumer.position(p) >= ends.get(p));
  }
}
