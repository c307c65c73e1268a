// Reference program for `pnpm test:conformance`: writes and reads Kafka records with the CloudEvents Java SDK's
// Kafka binding (io.cloudevents:cloudevents-kafka, the serializer and deserializer the Knative Kafka broker
// runs), against a real Kafka. One JSON command per line on stdin, one JSON answer per line on stdout.
//   {"op":"produce","bootstrap":"h:p","topic":"t","records":[{"mode":"binary|structured","key":"k"|null,
//    "event":{"id":..,"source":..,"type":..,<other attributes and extensions as strings>,"data_base64":..}}]}
//   {"op":"consume","bootstrap":"h:p","topic":"t","count":n,"timeoutMs":ms}
//     -> {"records":[{"key":b64|null,"headers":[[name,b64],..],"value":b64|null,
//                      "event":{<attributes as strings>,"data_base64":..}|null,"error":msg|null}]}
package dev.tributary.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.message.Encoding;
import io.cloudevents.jackson.JsonFormat;
import io.cloudevents.kafka.CloudEventDeserializer;
import io.cloudevents.kafka.CloudEventSerializer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class KafkaRef {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getEncoder();
  private static final Base64.Decoder B64D = Base64.getDecoder();

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      ObjectNode answer;
      try {
        JsonNode cmd = JSON.readTree(line);
        String op = cmd.path("op").asText();
        if (op.equals("produce")) answer = produce(cmd);
        else if (op.equals("consume")) answer = consume(cmd);
        else throw new IllegalArgumentException("unknown op " + op);
      } catch (Exception e) {
        answer = JSON.createObjectNode();
        answer.put("fatal", e.toString());
      }
      out.println(JSON.writeValueAsString(answer));
    }
  }

  static CloudEvent toEvent(JsonNode e) {
    CloudEventBuilder b = CloudEventBuilder.v1();
    Iterator<Map.Entry<String, JsonNode>> fields = e.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> f = fields.next();
      String name = f.getKey();
      String value = f.getValue().asText();
      switch (name) {
        case "specversion":
          break;
        case "id":
          b.withId(value);
          break;
        case "source":
          b.withSource(URI.create(value));
          break;
        case "type":
          b.withType(value);
          break;
        case "subject":
          b.withSubject(value);
          break;
        case "time":
          b.withTime(OffsetDateTime.parse(value, DateTimeFormatter.ISO_OFFSET_DATE_TIME));
          break;
        case "datacontenttype":
          b.withDataContentType(value);
          break;
        case "dataschema":
          b.withDataSchema(URI.create(value));
          break;
        case "data_base64":
          b.withData(B64D.decode(value));
          break;
        default:
          b.withExtension(name, value);
      }
    }
    return b.build();
  }

  static Properties common(JsonNode cmd) {
    Properties p = new Properties();
    p.put("bootstrap.servers", cmd.path("bootstrap").asText());
    return p;
  }

  static ObjectNode produce(JsonNode cmd) throws Exception {
    String topic = cmd.path("topic").asText();
    Map<Encoding, KafkaProducer<String, CloudEvent>> producers = new HashMap<>();
    try {
      for (Encoding encoding : new Encoding[] {Encoding.BINARY, Encoding.STRUCTURED}) {
        Properties p = common(cmd);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, CloudEventSerializer.class);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(CloudEventSerializer.ENCODING_CONFIG, encoding);
        p.put(CloudEventSerializer.EVENT_FORMAT_CONFIG, JsonFormat.CONTENT_TYPE);
        producers.put(encoding, new KafkaProducer<>(p));
      }
      // One record at a time, in order, so records land in the order given (one partition topics).
      for (JsonNode r : cmd.path("records")) {
        Encoding encoding = r.path("mode").asText().equals("structured") ? Encoding.STRUCTURED : Encoding.BINARY;
        String key = r.path("key").isNull() || r.path("key").isMissingNode() ? null : r.path("key").asText();
        producers.get(encoding).send(new ProducerRecord<>(topic, key, toEvent(r.path("event")))).get();
      }
    } finally {
      for (KafkaProducer<String, CloudEvent> p : producers.values()) p.close(Duration.ofSeconds(5));
    }
    ObjectNode answer = JSON.createObjectNode();
    answer.put("ok", true);
    return answer;
  }

  static String b64(byte[] bytes) {
    return bytes == null ? null : B64.encodeToString(bytes);
  }

  static ObjectNode describe(CloudEvent event) {
    ObjectNode o = JSON.createObjectNode();
    for (String name : event.getAttributeNames()) {
      Object v = event.getAttribute(name);
      if (v == null) continue;
      o.put(name, v instanceof OffsetDateTime ? ((OffsetDateTime) v).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME) : v.toString());
    }
    for (String name : event.getExtensionNames()) {
      Object v = event.getExtension(name);
      if (v == null) continue;
      o.put(name, v instanceof byte[] ? b64((byte[]) v) : v.toString());
    }
    if (event.getData() != null) o.put("data_base64", b64(event.getData().toBytes()));
    return o;
  }

  static ObjectNode consume(JsonNode cmd) throws Exception {
    String topic = cmd.path("topic").asText();
    int count = cmd.path("count").asInt();
    long deadline = System.currentTimeMillis() + cmd.path("timeoutMs").asLong(30_000);
    Properties p = common(cmd);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
    CloudEventDeserializer deserializer = new CloudEventDeserializer();
    deserializer.configure(new HashMap<>(), false);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer.partitionsFor(topic).forEach(pi -> parts.add(new TopicPartition(topic, pi.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      while (got.size() < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) got.add(r);
      }
    }
    ObjectNode answer = JSON.createObjectNode();
    ArrayNode records = answer.putArray("records");
    for (ConsumerRecord<byte[], byte[]> r : got) {
      ObjectNode o = records.addObject();
      o.put("key", b64(r.key()));
      ArrayNode headers = o.putArray("headers");
      for (Header h : r.headers()) headers.addArray().add(h.key()).add(b64(h.value()));
      o.put("value", b64(r.value()));
      try {
        o.set("event", describe(deserializer.deserialize(topic, r.headers(), r.value())));
      } catch (Exception e) {
        o.put("error", e.toString());
      }
    }
    return answer;
  }
}
