import * as ort from 'onnxruntime-node';
import { ImageBindError, type ClipTokenizer } from '@a2i/imagebind';

/** The graph a prompt goes through: its int64 token input and its hidden-states output. */
export interface PromptEncoderSpec {
  /** The manifest entry, for messages: "promptEncoder" or "encoders.text". */
  where: string;
  inputName: string;
  hiddenStates: { name: string; shape: readonly number[] };
}

/**
 * A prompt's token hidden states [T, W], what the decoder's prompt conditioning feeds the UNet
 * (diffusers' encode_prompt: text_encoder(input_ids)[0]). The source is the pack's
 * `promptEncoder` (Stable unCLIP: SD 2.1's own text model and tokenizer) or an encoder
 * declaring `hiddenStates` (the demo pack's text tower); only the hidden states are fetched.
 * The session belongs to the pack runtime, which releases it.
 */
export class PromptEncoder {
  private readonly rowSize: number;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: ClipTokenizer,
    private readonly spec: PromptEncoderSpec,
  ) {
    this.rowSize = spec.hiddenStates.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  async encode(prompt: string): Promise<Float32Array> {
    const { ids, shape } = this.tokenizer.tokenize([prompt]);
    const name = this.spec.hiddenStates.name;
    const result = await this.session.run({ [this.spec.inputName]: new ort.Tensor('int64', ids, shape) }, [name]);
    const hidden = result[name];
    if (!hidden || hidden.type !== 'float32' || hidden.data.length !== this.rowSize) {
      const tail = this.spec.hiddenStates.shape.slice(1).join(', ');
      throw new ImageBindError(
        'ENCODER_OUTPUT_MISMATCH',
        `Expected ${this.spec.where} output ${name} as float32 [1, ${tail}] but received ${hidden ? `${hidden.type} [${hidden.dims.join(', ')}]` : 'nothing'}`,
      );
    }
    // A copy: the tensor's buffer belongs to onnxruntime.
    return Float32Array.from(hidden.data as Float32Array);
  }
}
