export { createApp, type ApiApp, type CreateAppOptions } from './create-app.js';
export { ApiError, httpStatusFor } from './api-error.js';
export { GenerationService } from './generation-service.js';
export { JobEventHub, type EventSink } from './job-event-hub.js';
export { QueuePositions } from './queue-position.js';
export { canAccess, newJobId, newJobToken, sha256Hex } from './job-access.js';
