//! Building nodes from the parser's events: sequences and mappings on a stack, anchors kept
//! for their aliases, `<<` merge keys expanded when their mapping ends, and every node given
//! the place it starts at. The first error is kept (the parser goes on, the load fails).

use std::collections::HashMap;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver};
use yaml_rust2::scanner::Marker;

use super::scalar::resolve_scalar;
use super::{Kind, Node, Span, SyntaxError};

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

pub(super) struct Builder {
    file: Arc<str>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
    error: Option<SyntaxError>,
}

impl Builder {
    pub(super) fn new(file: Arc<str>) -> Builder {
        Builder {
            file,
            stack: Vec::new(),
            anchors: HashMap::new(),
            docs: Vec::new(),
            error: None,
        }
    }

    /// The first document, or the first error met while building.
    pub(super) fn finish(self) -> Result<Option<Node>, SyntaxError> {
        match self.error {
            Some(err) => Err(err),
            None => Ok(self.docs.into_iter().next()),
        }
    }

    fn span(&self, mark: Marker) -> Span {
        Span {
            file: self.file.clone(),
            line: mark.line(),
            col: mark.col() + 1,
        }
    }

    fn fail(&mut self, span: Span, message: String) {
        if self.error.is_none() {
            self.error = Some(SyntaxError { span, message });
        }
    }

    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let Kind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Kind::Map(entries) = &mut map.kind {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let span = self.span(mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let kind = match resolve_scalar(&text, style, tag.as_ref()) {
                    Ok(kind) => kind,
                    Err(message) => {
                        self.fail(span.clone(), message);
                        Kind::Str(text)
                    }
                };
                let node = Node { kind, span };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push_value(node),
                None => {
                    self.fail(span.clone(), "alias refers to an unknown anchor".into());
                    self.push_value(Node {
                        kind: Kind::Null,
                        span,
                    });
                }
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(
                Node {
                    kind: Kind::Seq(Vec::new()),
                    span,
                },
                anchor,
            )),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(
                Node {
                    kind: Kind::Map(Vec::new()),
                    span,
                },
                anchor,
                None,
            )),
            Event::SequenceEnd => {
                if let Some(Frame::Seq(node, anchor)) = self.stack.pop() {
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(mut node, anchor, _)) = self.stack.pop() {
                    if let Err(e) = apply_merge_keys(&mut node) {
                        self.fail(e.span, e.message);
                    }
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node);
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Expand `<<: *anchor` and `<<: [*a, *b]`: merged keys never override keys written in the map,
/// and earlier maps in a merge list win over later ones (YAML merge-key rules).
fn apply_merge_keys(node: &mut Node) -> Result<(), SyntaxError> {
    let Kind::Map(entries) = &mut node.kind else {
        return Ok(());
    };
    if !entries
        .iter()
        .any(|(k, _)| matches!(&k.kind, Kind::Str(s) if s == "<<"))
    {
        return Ok(());
    }
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in entries.drain(..) {
        if matches!(&k.kind, Kind::Str(s) if s == "<<") {
            let sources: Vec<Node> = match v.kind {
                Kind::Map(_) => vec![v],
                Kind::Seq(items) => items,
                _ => {
                    return Err(SyntaxError {
                        span: v.span.clone(),
                        message: "a merge key (<<) takes a mapping or a list of mappings".into(),
                    })
                }
            };
            for src in sources {
                let Kind::Map(src_entries) = src.kind else {
                    return Err(SyntaxError {
                        span: src.span,
                        message: "a merge key (<<) list may hold only mappings".into(),
                    });
                };
                for (sk, sv) in src_entries {
                    let name = sk.key_text();
                    if !merged.iter().any(|(mk, _)| mk.key_text() == name) {
                        merged.push((sk, sv));
                    }
                }
            }
        } else {
            own.push((k, v));
        }
    }
    for (mk, mv) in merged {
        let name = mk.key_text();
        if !own.iter().any(|(k, _)| k.key_text() == name) {
            own.push((mk, mv));
        }
    }
    *entries = own;
    Ok(())
}
