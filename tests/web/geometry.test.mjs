// Where the picture, the overlay canvas and the boxes land on screen.
import assert from "node:assert/strict";
import { test } from "node:test";

import { baseUnit, canvasLayout, containRect, mapBox, naturalSize, SMALL_BOX_PX, tagTop } from "../../web/geometry.js";

test("a wider stage letterboxes the picture left and right, centred", () => {
  assert.deepEqual(containRect({ width: 1000, height: 300 }, { width: 320, height: 240 }), {
    x: 300,
    y: 0,
    w: 400,
    h: 300,
  });
});

test("a taller stage letterboxes the picture above and below, centred", () => {
  assert.deepEqual(containRect({ width: 390, height: 740 }, { width: 320, height: 240 }), {
    x: 0,
    y: (740 - 292.5) / 2,
    w: 390,
    h: 292.5,
  });
});

test("a stage of the picture's shape is filled exactly", () => {
  assert.deepEqual(containRect({ width: 640, height: 480 }, { width: 320, height: 240 }), { x: 0, y: 0, w: 640, h: 480 });
});

test("the natural size is the video's, the image's, the frame's, the camera's, else 4:3", () => {
  const none = { videoWidth: 0, videoHeight: 0 };
  assert.deepEqual(naturalSize({ videoWidth: 640, videoHeight: 480 }, { width: 1, height: 1 }), { width: 640, height: 480 });
  assert.deepEqual(naturalSize({ naturalWidth: 320, naturalHeight: 240 }), { width: 320, height: 240 });
  assert.deepEqual(naturalSize(none, { width: 160, height: 120 }, { width: 1, height: 1 }), { width: 160, height: 120 });
  assert.deepEqual(naturalSize(none, undefined, { width: 800, height: 600 }), { width: 800, height: 600 });
  assert.deepEqual(naturalSize(none, {}, null), { width: 4, height: 3 });
});

test("the canvas covers the picture in CSS pixels and has device pixels behind it", () => {
  const layout = canvasLayout({ x: 10.5, y: 0, w: 400.4, h: 300.3 }, 2);
  assert.deepEqual(layout.style, { left: "10.5px", top: "0px", width: "400.4px", height: "300.3px" });
  assert.equal(layout.width, 801);
  assert.equal(layout.height, 601);
});

test("an empty picture still gets a one-pixel canvas", () => {
  const layout = canvasLayout({ x: 0, y: 0, w: 0, h: 0 }, 1);
  assert.equal(layout.width, 1);
  assert.equal(layout.height, 1);
});

test("boxes are mapped from frame pixels onto the picture", () => {
  const box = { x: 80, y: 60, width: 40, height: 20 };
  assert.deepEqual(mapBox(box, { width: 320, height: 240 }, 640, 480), { x: 160, y: 120, w: 80, h: 40, kind: "box" });
});

test("without a frame size the boxes are taken as picture units", () => {
  const box = { x: 5, y: 6, width: 30, height: 40 };
  assert.deepEqual(mapBox(box, undefined, 640, 480), { x: 5, y: 6, w: 30, h: 40, kind: "box" });
});

test("a box smaller than the marker threshold on screen becomes a marker", () => {
  const frame = { width: 320, height: 240 };
  const box = { x: 10, y: 10, width: 40, height: 40 };
  assert.equal(mapBox(box, frame, 320, 240).kind, "box");
  assert.equal(mapBox(box, frame, 160, 120).kind, "marker"); // 20 px on screen
  const thin = { x: 0, y: 0, width: 100, height: SMALL_BOX_PX - 1 };
  assert.equal(mapBox(thin, frame, 320, 240).kind, "marker");
});

test("a box's tag goes above it, or below it at the top edge", () => {
  assert.equal(tagTop({ x: 0, y: 100, w: 50, h: 50 }, 20), 78);
  assert.equal(tagTop({ x: 0, y: 10, w: 50, h: 50 }, 20), 62);
});

test("the overlay's type size follows the picture, within bounds", () => {
  assert.equal(baseUnit(100), 11);
  assert.equal(baseUnit(520), 20);
  assert.equal(baseUnit(2000), 24);
});
