import { Schema, type Connection, type HydratedDocument, type Model, type Types } from 'mongoose';

export interface StoredMembership {
  userId: string;
  editContacts: boolean;
  editCategories: boolean;
}

/** A contact category ("Categorie"). `nameKey` (the folded name) is unique: imports match categories by name. */
export interface Category {
  _id: Types.ObjectId;
  name: string;
  nameKey: string;
  public: boolean;
  memberships: StoredMembership[];
  createdAt: Date;
  updatedAt: Date;
}

export type CategoryDocument = HydratedDocument<Category>;
export type CategoryModel = Model<Category>;

const membershipSchema = new Schema<StoredMembership>(
  {
    userId: { type: String, required: true },
    editContacts: { type: Boolean, default: false },
    editCategories: { type: Boolean, default: false },
  },
  { _id: false },
);

const categorySchema = new Schema<Category>(
  {
    name: { type: String, required: true, maxlength: 100 },
    nameKey: { type: String, required: true },
    public: { type: Boolean, default: false },
    memberships: { type: [membershipSchema], default: [] },
  },
  { timestamps: true },
);

categorySchema.index({ nameKey: 1 }, { unique: true });
categorySchema.index({ 'memberships.userId': 1 });

export function categoryModel(connection: Connection): CategoryModel {
  return (
    (connection.models.ContactCategory as CategoryModel | undefined) ??
    connection.model<Category>('ContactCategory', categorySchema, 'contactcategories')
  );
}
