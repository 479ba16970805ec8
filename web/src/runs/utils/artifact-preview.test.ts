import { describe, expect, test } from 'vitest';
import { parseCsv, parseMlmodel, prettyJson, previewKind } from './artifact-preview.ts';

describe('previewKind', () => {
  test('chooses a preview by file name and size', () => {
    expect(previewKind('model/MLmodel', 500)).toBe('mlmodel');
    expect(previewKind('plots/curve.PNG', 10)).toBe('image');
    expect(previewKind('a.json', 10)).toBe('json');
    expect(previewKind('conda.yaml', 10)).toBe('yaml');
    expect(previewKind('preds.csv', 10)).toBe('csv');
    expect(previewKind('notes.txt', 10)).toBe('text');
    expect(previewKind('model.pkl', 10)).toBe('none');
    expect(previewKind('huge.txt', 50 * 1024 * 1024)).toBe('none');
  });
});

describe('parseCsv', () => {
  test('handles quotes, escaped quotes, commas in quotes and CRLF', () => {
    const parsed = parseCsv('id,label\r\n1,"vir,ginica"\r\n2,"say ""hi"""\r\n');
    expect(parsed.header).toEqual(['id', 'label']);
    expect(parsed.rows).toEqual([
      ['1', 'vir,ginica'],
      ['2', 'say "hi"'],
    ]);
    expect(parsed.truncated).toBe(false);
  });

  test('stops after maxRows and says so', () => {
    const text = `h\n${Array.from({ length: 10 }, (_, i) => i).join('\n')}\n`;
    const parsed = parseCsv(text, 3);
    expect(parsed.rows.length).toBe(3);
    expect(parsed.truncated).toBe(true);
  });
});

test('prettyJson indents valid JSON and leaves other text alone', () => {
  expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
  expect(prettyJson('not json')).toBe('not json');
});

describe('parseMlmodel', () => {
  const mlmodel = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.2
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.5.2
model_id: m-0123
run_id: abc
saved_input_example_info:
  artifact_path: input_example.json
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2026-01-01 10:00:00.000000'
`;
  test('reads flavors, signature columns and the input example path', () => {
    const info = parseMlmodel(mlmodel);
    expect(info.flavors.map((f) => f.name)).toEqual(['python_function', 'sklearn']);
    expect(info.flavors[1]?.details).toContain('sklearn_version: 1.5.2');
    expect(info.inputs[0]).toEqual({ name: 'sepal length (cm)', type: 'double', required: true });
    expect(info.inputs[1]).toMatchObject({ type: 'tensor<float64>', shape: '[-1,4]' });
    expect(info.outputs[0]).toMatchObject({ name: '#0', type: 'long' });
    expect(info.params).toEqual([]);
    expect(info.inputExamplePath).toBe('input_example.json');
    expect(info.modelId).toBe('m-0123');
  });

  test('a model without a signature has empty column lists', () => {
    expect(parseMlmodel('flavors: {}\n').inputs).toEqual([]);
  });
});
