export { CloudEvent } from 'cloudevents';
export {
  CE_BATCH_CONTENT_TYPE,
  CE_JSON_CONTENT_TYPE,
  isJsonContentType,
  isTextContentType,
  mediaType,
} from './content-type.js';
export { CloudEventDecodeError, InvalidCloudEventError } from './errors.js';
export {
  assertValidCloudEvent,
  attributeIssues,
  buildEvent,
  type CloudEventLike,
  type CreateCloudEventInput,
  cloudEventIssues,
  createCloudEvent,
  EXTENSION_NAME,
  eventAttributes,
  RAW_DATA,
  RAW_DATA_GETTER,
  recalledRawData,
} from './event.js';
export { decodeHeaderValue, encodeHeaderValue } from './header-value.js';
export {
  decodeHttp,
  decodeHttpEvent,
  encodeHttpBatch,
  encodeHttpBinary,
  encodeHttpStructured,
  type HttpContentMode,
  type HttpHeadersInput,
  type HttpMessage,
  httpContentMode,
  isCloudEventResponse,
} from './http.js';
export { toJsonFormat } from './json-format.js';
export {
  fromKafkaMessage,
  type KafkaHttpView,
  type KafkaRecord,
  type KafkaRecordInput,
  kafkaToHttpBinary,
  toKafkaMessage,
} from './kafka.js';
export { type EncodedRecord, KafkaRecordWriter } from './kafka-record.js';
