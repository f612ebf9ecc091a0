/**
 * A cluster worker for channel tests: answers `report` with an empty snapshot and sends every other message
 * back unchanged, so a test sees what crossed the IPC channel.
 */
process.on('message', (message: { type: string; id?: number }) => {
  const snapshot = { workers: 1, requests: 0, inFlight: 0, statusClasses: {}, reasons: {}, targets: [] };
  process.send?.(message.type === 'report' ? { type: 'snapshot', id: message.id, snapshot } : message);
});
