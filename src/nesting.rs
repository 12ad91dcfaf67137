//! A cap on how deeply a value may nest while it is decoded.
//!
//! postcard, unlike serde_json, follows nesting as deep as the input asks: a recursive type
//! (`enum Tree { Leaf, Node(Box<Tree>) }`) turns one input byte into one level of recursion,
//! so a hostile 1 MB message would overflow the wasm stack and abort the whole app.
//! [`Limited`] wraps any serde `Deserializer` and fails with an ordinary error once values
//! nest deeper than the cap. Every way into a nested value (sequence, tuple, struct, map,
//! enum variant, `Some`, newtype) goes through a visitor's access object, so counting there
//! sees every level.

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use std::cell::Cell;
use std::fmt;

/// A `Deserializer` whose values may nest only as deep as its budget allows.
pub(crate) struct Limited<'a, D> {
    pub(crate) de: D,
    pub(crate) budget: Budget<'a>,
}

/// How many more levels may nest, and where to record that a value went past that (the
/// error itself may lose its text: postcard's `custom` error keeps none).
#[derive(Clone, Copy)]
pub(crate) struct Budget<'a> {
    pub(crate) left: u32,
    pub(crate) exceeded: &'a Cell<bool>,
}

impl Budget<'_> {
    /// One level down, or an error (recorded) once no levels are left.
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        match self.left.checked_sub(1) {
            Some(left) => Ok(Budget { left, ..self }),
            None => {
                self.exceeded.set(true);
                Err(E::custom("values nest too deep"))
            }
        }
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.de.$method($($arg,)* Visit { visitor, budget: self.budget })
        }
    )*};
}

impl<'a, 'de, D: Deserializer<'de>> Deserializer<'de> for Limited<'a, D> {
    type Error = D::Error;

    forward! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_i128(); deserialize_u8();
        deserialize_u16(); deserialize_u32(); deserialize_u64(); deserialize_u128();
        deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str();
        deserialize_string(); deserialize_bytes(); deserialize_byte_buf(); deserialize_option();
        deserialize_unit(); deserialize_seq(); deserialize_map(); deserialize_identifier();
        deserialize_ignored_any();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// The caller's visitor, handed `Limited` deserializers for whatever nests inside.
struct Visit<'a, V> {
    visitor: V,
    budget: Budget<'a>,
}

macro_rules! pass {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.visitor.$method(v)
        }
    )*};
}

impl<'a, 'de, V: Visitor<'de>> Visitor<'de> for Visit<'a, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(f)
    }

    pass! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        let budget = self.budget.deeper()?;
        self.visitor.visit_some(Limited { de, budget })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        let budget = self.budget.deeper()?;
        self.visitor.visit_newtype_struct(Limited { de, budget })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        let budget = self.budget.deeper()?;
        self.visitor.visit_seq(Nested { access, budget })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        let budget = self.budget.deeper()?;
        self.visitor.visit_map(Nested { access, budget })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        let budget = self.budget.deeper()?;
        self.visitor.visit_enum(Nested { access, budget })
    }
}

/// A seed whose value is read through a `Limited` deserializer.
struct Seed<'a, S> {
    seed: S,
    budget: Budget<'a>,
}

impl<'a, 'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'a, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Limited {
            de,
            budget: self.budget,
        })
    }
}

/// A sequence, map, enum or variant access one level down, whose elements are `Limited`.
struct Nested<'a, A> {
    access: A,
    budget: Budget<'a>,
}

impl<'a, A> Nested<'a, A> {
    fn seed<S>(&self, seed: S) -> Seed<'a, S> {
        Seed {
            seed,
            budget: self.budget,
        }
    }
}

impl<'a, 'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Nested<'a, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let seed = self.seed(seed);
        self.access.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'a, 'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Nested<'a, A> {
    type Error = A::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let seed = self.seed(seed);
        self.access.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.seed(seed);
        self.access.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'a, 'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Nested<'a, A> {
    type Error = A::Error;
    type Variant = Nested<'a, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (budget, seed) = (self.budget, self.seed(seed));
        let (value, access) = self.access.variant_seed(seed)?;
        Ok((value, Nested { access, budget }))
    }
}

impl<'a, 'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Nested<'a, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.access.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.seed(seed);
        self.access.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = Visit {
            visitor,
            budget: self.budget,
        };
        self.access.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = Visit {
            visitor,
            budget: self.budget,
        };
        self.access.struct_variant(fields, visitor)
    }
}
