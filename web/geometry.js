// Where things land on screen: the displayed picture inside the stage
// (object-fit: contain), the overlay canvas over it, and each box mapped from
// frame pixels to the picture. Functions of numbers; no DOM here.

export const SMALL_BOX_PX = 24; // boxes smaller than this on screen are drawn as centroid markers

// The picture's natural size: the media's own, else the result frame's, else the camera's, else 4:3.
export function naturalSize(media, frame, camera) {
  return {
    width: media.videoWidth || media.naturalWidth || frame?.width || camera?.width || 4,
    height: media.videoHeight || media.naturalHeight || frame?.height || camera?.height || 3,
  };
}

// The rectangle a `natural`-sized picture fills inside a `stage`-sized box, centred.
export function containRect(stage, natural) {
  const scale = Math.min(stage.width / natural.width, stage.height / natural.height);
  const w = natural.width * scale;
  const h = natural.height * scale;
  return { x: (stage.width - w) / 2, y: (stage.height - h) / 2, w, h };
}

// The canvas's CSS box and its backing-store size for a device pixel ratio.
export function canvasLayout(rect, dpr) {
  return {
    style: { left: `${rect.x}px`, top: `${rect.y}px`, width: `${rect.w}px`, height: `${rect.h}px` },
    width: Math.max(1, Math.round(rect.w * dpr)),
    height: Math.max(1, Math.round(rect.h * dpr)),
  };
}

// A box in frame pixels, mapped onto a `w` x `h` picture; small ones become markers.
export function mapBox(box, frame, w, h) {
  const sx = w / (frame?.width || w);
  const sy = h / (frame?.height || h);
  const r = { x: box.x * sx, y: box.y * sy, w: box.width * sx, h: box.height * sy };
  return { ...r, kind: r.w < SMALL_BOX_PX || r.h < SMALL_BOX_PX ? "marker" : "box" };
}

// A box's tag sits above it, or below when there is no room above.
export function tagTop(r, unit) {
  return r.y - unit * 1.1 >= 0 ? r.y - unit * 1.1 : r.y + r.h + 2;
}

// The overlay's base font size for a picture `w` wide.
export function baseUnit(w) {
  return Math.min(Math.max(w / 26, 11), 24);
}
