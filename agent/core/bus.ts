/**
 * Typed in-process event bus with owner-keyed listeners: a module that stops removes all of
 * its listeners with one call, so a restarted module never leaks a handler (zigbee2mqtt's
 * callbacksByExtension pattern).
 */
export class EventBus<Events extends { [K in keyof Events]: unknown }> {
  private listeners = new Map<keyof Events, Array<{ owner: object; cb: (p: never) => void }>>();

  on<K extends keyof Events>(owner: object, event: K, cb: (payload: Events[K]) => void): void {
    const list = this.listeners.get(event) ?? [];
    list.push({ owner, cb: cb as (p: never) => void });
    this.listeners.set(event, list);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const l of this.listeners.get(event) ?? []) {
      // why: one faulty listener must not stop the others from hearing about evidence
      try {
        (l.cb as (p: Events[K]) => void)(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  removeListeners(owner: object): void {
    for (const [event, list] of this.listeners) {
      this.listeners.set(
        event,
        list.filter((l) => l.owner !== owner),
      );
    }
  }
}
