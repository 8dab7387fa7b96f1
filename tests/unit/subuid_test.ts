import assert from "node:assert/strict";
import {
  ownerIn,
  parsePasswdUids,
  parseSubuid,
  SUBUID_MAX_RANGES,
  SubuidOwners,
} from "../../lib/sys/subuid.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "alice:x:1000:1000::/home/alice:/bin/sh",
  "bob:x:1001:1001::/home/bob:/bin/sh",
  "svc:x:150000:150000::/nonexistent:/usr/sbin/nologin",
  "",
].join("\n");

Deno.test("parseSubuid() names owners by login or uid and sorts the ranges", () => {
  const names = parsePasswdUids(PASSWD);
  const ranges = parseSubuid("bob:200000:65536\nalice:100000:65536\n1002:300000:10\n", names);
  assert.deepEqual(ranges, [
    { owner: 1000, start: 100000, count: 65536 },
    { owner: 1001, start: 200000, count: 65536 },
    { owner: 1002, start: 300000, count: 10 },
  ]);
});

Deno.test("parseSubuid() skips malformed, root-owned, empty and overflowing ranges", () => {
  const names = parsePasswdUids(PASSWD);
  const text = [
    "root:100000:65536", // root's containers are not root
    "nobody-known:1:2",
    "alice:abc:10",
    "alice:-5:10",
    "alice:5:0",
    "alice:4294967290:100",
    "alice:100000:65536:extra",
    "alice:0x10:10",
    "# comment",
    "alice:400000:1",
  ].join("\n");
  assert.deepEqual(parseSubuid(text, names), [{ owner: 1000, start: 400000, count: 1 }]);
});

Deno.test("parseSubuid() keeps at most SUBUID_MAX_RANGES ranges", () => {
  const lines = Array.from({ length: SUBUID_MAX_RANGES + 5 }, (_, i) => `1000:${i * 2 + 1}:1`);
  assert.equal(parseSubuid(lines.join("\n"), new Map()).length, SUBUID_MAX_RANGES);
});

Deno.test("ownerIn() counts a subordinate uid as its owner, and nothing else", () => {
  const names = parsePasswdUids(PASSWD);
  const ranges = parseSubuid("alice:100000:65536\nbob:200000:65536\n", names);
  const accounts = new Set(names.values());
  assert.equal(ownerIn(100000, ranges, accounts), 1000);
  assert.equal(ownerIn(165535, ranges, accounts), 1000);
  assert.equal(ownerIn(165536, ranges, accounts), 165536, "past alice's range");
  assert.equal(ownerIn(200001, ranges, accounts), 1001);
  assert.equal(ownerIn(150000, ranges, accounts), 150000, "an account of its own");
  assert.equal(ownerIn(0, ranges, accounts), 0);
  assert.equal(ownerIn(1000, ranges, accounts), 1000);
});

Deno.test("SubuidOwners reads the files, and again when /etc/subuid changes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const subuid = `${dir}/subuid`;
    const passwd = `${dir}/passwd`;
    await Deno.writeTextFile(passwd, PASSWD, { mode: 0o644 });
    await Deno.writeTextFile(subuid, "alice:100000:65536\n", { mode: 0o644 });
    const owners = new SubuidOwners({ subuidPath: subuid, passwdPath: passwd });
    assert.equal(owners.ownerOf(100005), 1000);
    assert.equal(owners.ownerOf(200005), 200005);
    await Deno.writeTextFile(subuid, "alice:100000:65536\nbob:200000:65536\n");
    assert.equal(owners.ownerOf(200005), 1001, "re-read after the change");
    assert.deepEqual(owners.rangesOf(1001), [{ owner: 1001, start: 200000, count: 65536 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SubuidOwners ignores a /etc/subuid that others can write, or a link", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const subuid = `${dir}/subuid`;
    const passwd = `${dir}/passwd`;
    await Deno.writeTextFile(passwd, PASSWD, { mode: 0o644 });
    await Deno.writeTextFile(`${dir}/real`, "alice:100000:65536\n", { mode: 0o644 });
    await Deno.symlink(`${dir}/real`, subuid);
    const linked = new SubuidOwners({ subuidPath: subuid, passwdPath: passwd });
    assert.equal(linked.ownerOf(100005), 100005, "a link is not followed");
    await Deno.chmod(`${dir}/real`, 0o666);
    const writable = new SubuidOwners({ subuidPath: `${dir}/real`, passwdPath: passwd });
    assert.equal(writable.ownerOf(100005), 100005, "a file others can write is not trusted");
    const missing = new SubuidOwners({ subuidPath: `${dir}/none`, passwdPath: passwd });
    assert.equal(missing.ownerOf(100005), 100005);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
