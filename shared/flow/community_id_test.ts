import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { communityId, type CommunityIdTuple } from "./community_id.ts";
import { sha1 } from "./_sha1.ts";
import { parseIpInto } from "./_ip.ts";
import { parseIpInto as parseIpIntoGeneral } from "../packet/address_parse.ts";

/**
 * Vectors from the corelight/community-id-spec repository: `baseline/*.json`
 * (made by pycommunityid from the spec's pcaps; the ICMP "ports" there are
 * already Zeek's type/counterpart pairs, which map to themselves), the
 * `baseline/README.md` tables, and pycommunityid's `tests/communityid_test.py`.
 * Columns: proto, saddr, daddr, sport, dport, default, seed=1, hex (no base64).
 */
type Vector = [
  number,
  string,
  string,
  number | null,
  number | null,
  string,
  string,
  string,
];

const BASELINE_JSON: Vector[] = [
  [
    58,
    "fe80::200:86ff:fe05:80da",
    "fe80::260:97ff:fe07:69ea",
    135,
    136,
    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
    "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=",
    "1:7461f21af8cc7e58e0e81a69c26ddb8342cef136",
  ],
  [
    58,
    "fe80::260:97ff:fe07:69ea",
    "fe80::200:86ff:fe05:80da",
    136,
    135,
    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
    "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=",
    "1:7461f21af8cc7e58e0e81a69c26ddb8342cef136",
  ],
  [
    58,
    "fe80::260:97ff:fe07:69ea",
    "fe80::200:86ff:fe05:80da",
    135,
    136,
    "1:zavyT/cezQr1fmImYCwYnMXbgck=",
    "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=",
    "1:cdabf24ff71ecd0af57e6226602c189cc5db81c9",
  ],
  [
    58,
    "fe80::200:86ff:fe05:80da",
    "fe80::260:97ff:fe07:69ea",
    136,
    135,
    "1:zavyT/cezQr1fmImYCwYnMXbgck=",
    "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=",
    "1:cdabf24ff71ecd0af57e6226602c189cc5db81c9",
  ],
  [
    58,
    "3ffe:501:1800:2345::2",
    "3ffe:507:0:1:200:86ff:fe05:80da",
    3,
    0,
    "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=",
    "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=",
    "1:d8e6d5060227dbca19be26d866164c06087b59d4",
  ],
  [
    58,
    "3ffe:501:410:0:2c0:dfff:fe47:33e",
    "3ffe:507:0:1:200:86ff:fe05:80da",
    1,
    4,
    "1:hLZd0XGWojozrvxqE0dWB1iM6R0=",
    "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=",
    "1:84b65dd17196a23a33aefc6a13475607588ce91d",
  ],
  [
    58,
    "3ffe:507:0:1:200:86ff:fe05:80da",
    "3ffe:501:0:1001::2",
    128,
    129,
    "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=",
    "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=",
    "1:f935be1ed2c7bd5d719c6855d65bfb5e826ba908",
  ],
  [
    58,
    "3ffe:501:0:1001::2",
    "3ffe:507:0:1:200:86ff:fe05:80da",
    129,
    128,
    "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=",
    "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=",
    "1:f935be1ed2c7bd5d719c6855d65bfb5e826ba908",
  ],
  [
    58,
    "fe80::200:86ff:fe05:80da",
    "ff02::2",
    133,
    134,
    "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=",
    "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=",
    "1:84efac3781fe306e4c63ff2122b5cfa9ce19433d",
  ],
  [
    58,
    "fe80::260:97ff:fe07:69ea",
    "ff02::1",
    134,
    133,
    "1:pkvHqCL88/tg1k4cPigmZXUtL00=",
    "1:K/ee5UCqAMAQXDorP5nSa2CGLjc=",
    "1:a64bc7a822fcf3fb60d64e1c3e282665752d2f4d",
  ],
  [
    1,
    "192.168.0.89",
    "192.168.0.1",
    8,
    0,
    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
    "1:03g6IloqVBdcZlPyX8r0hgoE7kA=",
    "1:5f4b27617a60c22bfd4d9b6a83ae2c833527e839",
  ],
  [
    1,
    "192.168.0.1",
    "192.168.0.89",
    0,
    8,
    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
    "1:03g6IloqVBdcZlPyX8r0hgoE7kA=",
    "1:5f4b27617a60c22bfd4d9b6a83ae2c833527e839",
  ],
  [
    1,
    "10.0.0.1",
    "10.0.0.2",
    11,
    0,
    "1:YHxtAirCG//0OzkcVAukqKQN9xM=",
    "1:XjUibYHaafLQ3pxQeiMI8g25q20=",
    "1:607c6d022ac21bfff43b391c540ba4a8a40df713",
  ],
  [
    6,
    "2001:470:e5bf:dead:4957:2174:e82c:4887",
    "2607:f8b0:400c:c03::1a",
    63943,
    25,
    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
    "1:eJYTW6AOzFLlSUoESovMjnu7rMw=",
    "1:fea15a78047e8057b52988cccd50ec32ffb0814e",
  ],
  [
    6,
    "2607:f8b0:400c:c03::1a",
    "2001:470:e5bf:dead:4957:2174:e82c:4887",
    25,
    63943,
    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
    "1:eJYTW6AOzFLlSUoESovMjnu7rMw=",
    "1:fea15a78047e8057b52988cccd50ec32ffb0814e",
  ],
  [
    132,
    "192.168.170.8",
    "192.168.170.56",
    7,
    7,
    "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
    "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=",
    "1:30fd84b5108050866f4f0e8cc491cb57b37b243b",
  ],
  [
    132,
    "192.168.170.56",
    "192.168.170.8",
    7,
    7,
    "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
    "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=",
    "1:30fd84b5108050866f4f0e8cc491cb57b37b243b",
  ],
  [
    6,
    "128.232.110.120",
    "66.35.250.204",
    34855,
    80,
    "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
    "1:2d053da9994af81e45dca0e67afea6e4f3226eb8",
  ],
  [
    6,
    "66.35.250.204",
    "128.232.110.120",
    80,
    34855,
    "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
    "1:2d053da9994af81e45dca0e67afea6e4f3226eb8",
  ],
  [
    17,
    "192.168.1.52",
    "8.8.8.8",
    54585,
    53,
    "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
    "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=",
    "1:77f14fe445b7c22635bc29dd87095e451287a304",
  ],
  [
    17,
    "8.8.8.8",
    "192.168.1.52",
    53,
    54585,
    "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
    "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=",
    "1:77f14fe445b7c22635bc29dd87095e451287a304",
  ],
  [
    46,
    "10.1.12.1",
    "10.1.12.2",
    null,
    null,
    "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
    "1:rYir8gphR31noO9iDRQmF/BteEI=",
    "1:28794b920a095bb89f513c934a0c957e4147ccac",
  ],
  [
    46,
    "10.1.12.2",
    "10.1.12.1",
    null,
    null,
    "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
    "1:rYir8gphR31noO9iDRQmF/BteEI=",
    "1:28794b920a095bb89f513c934a0c957e4147ccac",
  ],
];

const V6_SRC = "fe80:0001:0203:0405:0607:0809:0A0B:0C0D";
const V6_DST = "fe80:1011:1213:1415:1617:1819:1A1B:1C1D";

const README_TABLES: Vector[] = [
  [
    6,
    "1.2.3.4",
    "5.6.7.8",
    1122,
    3344,
    "1:wCb3OG7yAFWelaUydu0D+125CLM=",
    "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=",
    "1:c026f7386ef200559e95a53276ed03fb5db908b3",
  ],
  [
    6,
    "5.6.7.8",
    "1.2.3.4",
    3344,
    1122,
    "1:wCb3OG7yAFWelaUydu0D+125CLM=",
    "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=",
    "1:c026f7386ef200559e95a53276ed03fb5db908b3",
  ],
  [
    17,
    "1.2.3.4",
    "5.6.7.8",
    1122,
    3344,
    "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
    "1:OShq+iKDAMVouh/4bMxB9Sz4amw=",
    "1:d0cbbd227431eb3e1988264cffb1d78b658c84e8",
  ],
  [
    17,
    "5.6.7.8",
    "1.2.3.4",
    3344,
    1122,
    "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
    "1:OShq+iKDAMVouh/4bMxB9Sz4amw=",
    "1:d0cbbd227431eb3e1988264cffb1d78b658c84e8",
  ],
  [
    132,
    "1.2.3.4",
    "5.6.7.8",
    1122,
    3344,
    "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=",
    "1:uitchpn5MMGAQKBJh7bIr/bAr7s=",
    "1:10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f",
  ],
  [
    132,
    "5.6.7.8",
    "1.2.3.4",
    3344,
    1122,
    "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=",
    "1:uitchpn5MMGAQKBJh7bIr/bAr7s=",
    "1:10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f",
  ],
  [
    1,
    "1.2.3.4",
    "5.6.7.8",
    8,
    0,
    "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
    "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=",
    "1:72ba1d4472f6144b078dbbf752446b7dbb386d9d",
  ],
  [
    1,
    "5.6.7.8",
    "1.2.3.4",
    0,
    0,
    "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
    "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=",
    "1:72ba1d4472f6144b078dbbf752446b7dbb386d9d",
  ],
  [
    1,
    "1.2.3.4",
    "5.6.7.8",
    11,
    0,
    "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=",
    "1:1DD7cWGC/Yg91YGsQeni8du3pIA=",
    "1:7ff6224b25aa733ad381f5026650549ef1d170f9",
  ],
  [
    58,
    V6_SRC,
    V6_DST,
    128,
    0,
    "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=",
    "1:IO27GQzPuCtNnwFvjWALMHu5tJE=",
    "1:d1b7fb872309530b777cc103ef3f0b21f46905ea",
  ],
  [
    58,
    V6_DST,
    V6_SRC,
    129,
    0,
    "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=",
    "1:IO27GQzPuCtNnwFvjWALMHu5tJE=",
    "1:d1b7fb872309530b777cc103ef3f0b21f46905ea",
  ],
  [
    58,
    V6_SRC,
    V6_DST,
    146,
    0,
    "1:fYC8+pz24E+EhANP1EZhpX0Dw10=",
    "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=",
    "1:7d80bcfa9cf6e04f8484034fd44661a57d03c35d",
  ],
  [
    46,
    "1.2.3.4",
    "5.6.7.8",
    null,
    null,
    "1:ikv3kmf89luf73WPz1jOs49S768=",
    "1:/buhqeOmaRCopOZFy9HnoJd5XW8=",
    "1:8a4bf79267fcf65b9fef758fcf58ceb38f52efaf",
  ],
  [
    46,
    "5.6.7.8",
    "1.2.3.4",
    null,
    null,
    "1:ikv3kmf89luf73WPz1jOs49S768=",
    "1:/buhqeOmaRCopOZFy9HnoJd5XW8=",
    "1:8a4bf79267fcf65b9fef758fcf58ceb38f52efaf",
  ],
  [
    46,
    V6_SRC,
    V6_DST,
    null,
    null,
    "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=",
    "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=",
    "1:c10ff69b0ae75cfe259897077462f978f8d1f9ed",
  ],
  [
    46,
    V6_DST,
    V6_SRC,
    null,
    null,
    "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=",
    "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=",
    "1:c10ff69b0ae75cfe259897077462f978f8d1f9ed",
  ],
];

const PYCOMMUNITYID_TESTS: Vector[] = [
  [
    1,
    "192.168.0.89",
    "192.168.0.1",
    20,
    0,
    "1:3o2RFccXzUgjl7zDpqmY7yJi8rI=",
    "1:lCXHHxavE1Vq3oX9NH5ladQg02o=",
    "1:de8d9115c717cd482397bcc3a6a998ef2262f2b2",
  ],
  [
    1,
    "192.168.0.89",
    "192.168.0.1",
    20,
    1,
    "1:tz/fHIDUHs19NkixVVoOZywde+I=",
    "1:Ie3wmFyxiEyikbsbcO03d2nh+PM=",
    "1:b73fdf1c80d41ecd7d3648b1555a0e672c1d7be2",
  ],
  [
    1,
    "192.168.0.1",
    "192.168.0.89",
    0,
    20,
    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
    "1:03g6IloqVBdcZlPyX8r0hgoE7kA=",
    "1:5f4b27617a60c22bfd4d9b6a83ae2c833527e839",
  ],
  [
    58,
    "fe80::200:86ff:fe05:80da",
    "fe80::260:97ff:fe07:69ea",
    135,
    0,
    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
    "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=",
    "1:7461f21af8cc7e58e0e81a69c26ddb8342cef136",
  ],
  [
    58,
    "fe80::260:97ff:fe07:69ea",
    "fe80::200:86ff:fe05:80da",
    136,
    0,
    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
    "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=",
    "1:7461f21af8cc7e58e0e81a69c26ddb8342cef136",
  ],
  [
    58,
    "3ffe:507:0:1:260:97ff:fe07:69ea",
    "3ffe:507:0:1:200:86ff:fe05:80da",
    3,
    0,
    "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=",
    "1:OlOWx9psIbBFi7lOCw/4MhlKR9M=",
    "1:35da1b0d7f0f40d25b0327e45b186d2f63eaa79c",
  ],
  [
    58,
    "3ffe:507:0:1:200:86ff:fe05:80da",
    "3ffe:507:0:1:260:97ff:fe07:69ea",
    3,
    0,
    "1:/OGBt9BN1ofenrmSPWYicpij2Vc=",
    "1:Ij4ZxnC87/MXzhOjvH2vHu7LRmE=",
    "1:fce181b7d04dd687de9eb9923d66227298a3d957",
  ],
  [
    132,
    "192.168.170.8",
    "192.168.170.56",
    7,
    80,
    "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=",
    "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU=",
    "1:8d0802c5b92efa9346c3c58f6c473f4d2fee4e94",
  ],
  [
    132,
    "192.168.170.56",
    "192.168.170.8",
    80,
    7,
    "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=",
    "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU=",
    "1:8d0802c5b92efa9346c3c58f6c473f4d2fee4e94",
  ],
  [
    6,
    "10.0.0.1",
    "10.0.0.2",
    10,
    11569,
    "1:SXBGMX1lBOwhhoDrZynfROxnhnM=",
    "1:HmBRGR+fUyXF4t8WEtal7Y0gEAo=",
    "1:497046317d6504ec218680eb6729df44ec678673",
  ],
  [
    46,
    "10.1.24.4",
    "10.1.12.1",
    null,
    null,
    "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=",
    "1:BK3BVW3U2eemuwVQVN3zd/GULno=",
    "1:fe7408e1187f4ed63799fd11da0245064565812e",
  ],
  [
    46,
    "10.1.12.1",
    "10.1.24.4",
    null,
    null,
    "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=",
    "1:BK3BVW3U2eemuwVQVN3zd/GULno=",
    "1:fe7408e1187f4ed63799fd11da0245064565812e",
  ],
];

function tupleOf(v: Vector): CommunityIdTuple {
  return { ipProto: v[0], srcIp: v[1], dstIp: v[2], srcPort: v[3], dstPort: v[4] };
}

Deno.test("communityId() matches the community-id-spec published vectors", async (t) => {
  const sets: [string, Vector[]][] = [
    ["baseline JSON (from the spec pcaps)", BASELINE_JSON],
    ["baseline README tables", README_TABLES],
    ["pycommunityid unit tests", PYCOMMUNITYID_TESTS],
  ];
  for (const [name, vectors] of sets) {
    await t.step(name, () => {
      for (const v of vectors) {
        const label = `${v[0]} ${v[1]}:${v[3]} -> ${v[2]}:${v[4]}`;
        assert.equal(communityId(tupleOf(v)), v[5], `default, ${label}`);
        assert.equal(communityId(tupleOf(v), { seed: 1 }), v[6], `seed 1, ${label}`);
        assert.equal(communityId(tupleOf(v), { base64: false }), v[7], `hex, ${label}`);
      }
    });
  }
});

Deno.test("communityId() returns null for tuples it cannot hash", () => {
  const base = { ipProto: 6, srcIp: "10.0.0.1", dstIp: "10.0.0.2", srcPort: 1, dstPort: 2 };
  assert.equal(communityId({ ...base, srcPort: null }), null);
  assert.equal(communityId({ ...base, dstIp: "::1" }), null);
  assert.equal(communityId({ ...base, srcIp: "10.0.0.256" }), null);
  assert.equal(communityId({ ...base, srcIp: "1:2:3" }), null);
});

Deno.test("communityId() rejects an out-of-range seed and names it", () => {
  const tuple = { ipProto: 17, srcIp: "10.0.0.1", dstIp: "10.0.0.2", srcPort: 1, dstPort: 2 };
  assert.throws(() => communityId(tuple, { seed: 70000 }), /'seed'.*70000/);
});

Deno.test("sha1() agrees with node:crypto on lengths around the block boundaries", () => {
  for (let length = 0; length < 200; length++) {
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = (i * 31 + length) & 0xff;
    const expected = createHash("sha1").update(data).digest("hex");
    const actual = Array.from(sha1(data), (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(actual, expected, `length ${length}`);
  }
});

Deno.test("the flow code's parseIpInto() agrees with the packet parser on every text form", () => {
  const texts = [
    "::",
    "::1",
    "1::",
    "fe80::1",
    "2001:db8::8a2e:370:7334",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "ABCD:ef01::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    ":1::2",
    "1::2:",
    ":::",
    "1:::2",
    "::1:2:3:4:5:6:7",
    "1:2:3:4::5:6:7:8",
    "12345::",
    "g::1",
    "::ffff:1.2.3.4",
    "fe80::1%eth0",
    "10.0.0.1",
    "10.0.0",
    "",
    ":",
  ];
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = "0123456789abcdefABCDEFg:.%";
  for (let i = 0; i < 3000; i++) {
    let text = "";
    for (let n = Math.floor(random() * 16); n > 0; n--) {
      text += alphabet[Math.floor(random() * alphabet.length)];
    }
    texts.push(text);
    const groups = Array.from({ length: 8 }, () => Math.floor(random() * 65536).toString(16));
    const from = Math.floor(random() * 8);
    const to = from + Math.floor(random() * (8 - from));
    texts.push(groups.slice(0, from).join(":") + "::" + groups.slice(to + 1).join(":"));
  }
  for (const text of texts) {
    const ours = new Uint8Array(20);
    const general = new Uint8Array(20);
    const length = parseIpInto(text, ours, 2);
    assert.equal(length, parseIpIntoGeneral(text, general, 2), text);
    if (length > 0) assert.deepEqual(ours, general, text);
  }
});
