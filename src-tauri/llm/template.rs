//! A model's chat template: the Jinja template a GGUF carries under `tokenizer.chat_template`,
//! rendered with minijinja (plus its Python-compatibility methods, which HF templates use).
use minijinja::{context, Environment, Error as JinjaError, ErrorKind};

use super::ChatMessage;
use crate::error::{Error, Result};

pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

const NAME: &str = "chat";

impl ChatTemplate {
    pub fn new(source: &str, bos: &str, eos: &str) -> Result<ChatTemplate> {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // HF templates call raise_exception("…") on input they do not accept.
        env.add_function(
            "raise_exception",
            |msg: String| -> Result<String, JinjaError> {
                Err(JinjaError::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| {
                Error::Internal(format!("the model's chat template does not parse: {e}"))
            })?;
        Ok(ChatTemplate {
            env,
            bos: bos.to_owned(),
            eos: eos.to_owned(),
        })
    }

    /// The prompt text for `messages`, ending with the start of the assistant's turn; when the
    /// last message is the assistant's, ending inside it (prefill: the model goes on with that
    /// text, as llama.cpp's server does, and transformers by cutting the rendered chat at the
    /// end of the final message).
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let prefill = messages
            .last()
            .filter(|m| m.role == super::Role::Assistant && !m.content.trim().is_empty());
        let text = template
            .render(context! {
                messages => messages,
                add_generation_prompt => prefill.is_none(),
                bos_token => self.bos,
                eos_token => self.eos,
            })
            .map_err(|e| Error::Internal(format!("the model's chat template failed: {e}")))?;
        let Some(last) = prefill else {
            return Ok(text);
        };
        let content = last.content.trim_end();
        match text.rfind(content) {
            Some(at) => Ok(text[..at + content.len()].to_owned()),
            None => Err(Error::Invalid(
                "the model's chat template changes an answer's text; it cannot be continued".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;

    /// SmolLM2-135M-Instruct's template, as its GGUF stores it.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn a_final_assistant_message_is_left_open_to_go_on() {
        let t = ChatTemplate::new(SMOLLM2, "", "<|im_end|>").expect("parses");
        let text = t
            .render(&[
                ChatMessage::new(Role::User, "Name three colours"),
                ChatMessage::new(Role::Assistant, "Red, ye"),
            ])
            .expect("renders");
        assert!(text.ends_with("<|im_start|>assistant\nRed, ye"), "{text:?}");
    }

    #[test]
    fn renders_chatml_with_the_generation_prompt() {
        let t = ChatTemplate::new(SMOLLM2, "<|im_start|>", "<|im_end|>").expect("parses");
        let text = t
            .render(&[
                ChatMessage::new(Role::System, "Be brief."),
                ChatMessage::new(Role::User, "Hi {{ there }}"),
            ])
            .expect("renders");
        assert_eq!(
            text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi {{ there }}<|im_end|>\n<|im_start|>assistant\n"
        );
        // Without a system message the template adds its own.
        let text = t
            .render(&[ChatMessage::new(Role::User, "Hi")])
            .expect("renders");
        assert!(text.starts_with("<|im_start|>system\nYou are a helpful AI assistant"));
    }

    #[test]
    fn python_methods_and_raise_exception_work() {
        let t = ChatTemplate::new(
            "{% if messages[0]['role'] == 'assistant' %}{{ raise_exception('no') }}{% endif %}{{ messages[0]['content'].strip() }}",
            "",
            "",
        )
        .expect("parses");
        assert_eq!(
            t.render(&[ChatMessage::new(Role::User, "  x  ")])
                .expect("renders"),
            "x"
        );
        let err = t
            .render(&[ChatMessage::new(Role::Assistant, "x")])
            .expect_err("raises");
        assert!(err.to_string().contains("no"), "{err}");
    }
}
