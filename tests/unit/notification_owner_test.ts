import assert from "node:assert/strict";
import { acceptsNotification } from "../../lib/daemon/notification_owner.ts";

Deno.test("acceptsNotification() lets root's daemon take every crash", () => {
  for (const uid of [0, 1, 1000, 65534, 0xffff_ffff]) {
    assert.equal(acceptsNotification(0, uid), true);
  }
});

Deno.test("acceptsNotification() lets a user's daemon take only its own uid's crashes", () => {
  assert.equal(acceptsNotification(1000, 1000), true);
  assert.equal(acceptsNotification(1000, 1001), false);
  assert.equal(acceptsNotification(1000, 0), false);
  // (uid_t)-1, an unknown uid, is nobody's.
  assert.equal(acceptsNotification(1000, 0xffff_ffff), false);
});
