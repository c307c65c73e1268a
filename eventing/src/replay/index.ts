export {
  parseReplayFrom,
  parseReplayRequest,
  REPLAY_PATH_PREFIX,
  REPLAY_ROLES,
  type ReplayResponse,
  type ReplayRouteOptions,
  replayResponse,
  replayRoutes,
  replayTrigger,
} from './route.js';
