// Live tail of a broker's log (the dashboard's event tail and `tributary tail`).
export {
  compileTailFilter,
  DEFAULT_TAIL_BUFFER,
  deleteTailGroup,
  TAIL_GROUP_PREFIX,
  TailFilterError,
  type TailOptions,
  tailEvents,
  tailGroupId,
  UnknownBrokerError,
} from './tail.js';
