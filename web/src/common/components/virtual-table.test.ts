import { describe, expect, it } from 'vitest';
import { pinnedOffsets } from './VirtualTable.tsx';

describe('pinned columns', () => {
  it('pins the selection column and the leading pinned columns at their running left offsets', () => {
    const pins = pinnedOffsets([{ width: 240, pinned: true }, { width: 96 }, { width: 120, pinned: true }], true);
    expect(pins.offsets).toEqual([36, undefined, undefined]);
    expect(pins.checkPinned).toBe(true);
    expect(pins.lastPinned).toBe(0);
  });

  it('adds up several pinned columns, reading the minimum of a flexible track', () => {
    const pins = pinnedOffsets([{ width: 110, pinned: true }, { width: 'minmax(200px, 1fr)', pinned: true }, { width: 90 }], false);
    expect(pins.offsets).toEqual([0, 110, undefined]);
    expect(pins.checkPinned).toBe(false);
    expect(pins.lastPinned).toBe(1);
  });

  it('pins nothing, not even the selection column, when no column asks for it', () => {
    const pins = pinnedOffsets([{ width: 100 }], true);
    expect(pins).toEqual({ offsets: [undefined], checkPinned: false, lastPinned: -1 });
  });
});
