/**
 * The LISTEN/NOTIFY channel that wakes every replica's dispatcher: a write that makes work due
 * sooner than the dispatchers' next look (a task, a resumed category) notifies it after commit.
 */
export const DUE_CHANNEL = 'delay_tasks_due';

/** Payload of a notification on DUE_CHANNEL sent when a category was paused or resumed. */
export const FLOW_CHANGED = 'flow';
